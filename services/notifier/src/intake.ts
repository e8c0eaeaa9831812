import type { EventContext } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import type {
  AlertRaisedEvent,
  BatchFinalizedEvent,
  JobFinalizedEvent,
  OpsErrorEvent,
  PollerSummaryEvent,
} from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { traceHeaders } from '@batchline/telemetry';
import type { CrashPoints } from './crash-point.ts';
import { alertMessage } from './messages/alert-message.ts';
import type { Pricing } from './messages/cost.ts';
import { FINAL_SEVERITY, finalMessage } from './messages/final-message.ts';
import { JOB_SEVERITY, jobMessage } from './messages/job-message.ts';
import { opsErrorMessage } from './messages/ops-message.ts';
import { pollerSummaryMessage } from './messages/poller-summary-message.ts';
import { routeForSeverity } from './routing.ts';
import { getBatchJobType } from './store/batch-job-type.ts';
import { enqueueNotification, type NewNotification } from './store/enqueue.ts';
import { getFinalBatchDetails } from './store/final-batch-details.ts';
import type { NotificationRoute } from './store/notification.ts';

export interface IntakeOptions {
  pool: Pool;
  pricing: Pricing;
  crash: CrashPoints;
  log: Logger;
  /** A message was recorded for this route: its dispatcher should look now. */
  recorded(route: NotificationRoute): void;
}

/**
 * Turns each consumed event into its message and records it under the event's key — before the handler returns,
 * i.e. before the ack — so a redelivered or replayed event finds its message already recorded and adds nothing.
 */
export function createIntake({ pool, pricing, crash, log, recorded }: IntakeOptions) {
  async function record(message: NewNotification, ctx: EventContext): Promise<void> {
    // The dispatcher's later post continues the trace of the event's delivery.
    const created = await enqueueNotification(pool, {
      ...message,
      traceHeaders: traceHeaders(ctx.traceContext),
    });
    crash.reach('notifier.after_record_before_ack');
    const where = { eventKey: message.eventKey, route: message.route, seq: ctx.seq };
    if (created) {
      log.debug(where, 'message recorded');
      recorded(message.route);
    } else log.info(where, 'event seen again (redelivery or replay); its message was recorded before');
  }

  return {
    async batchFinalized(event: BatchFinalizedEvent, ctx: EventContext): Promise<void> {
      const details = await getFinalBatchDetails(pool, event.batchLogId);
      const severity =
        event.status === BatchStatus.completed ? FINAL_SEVERITY.completed : FINAL_SEVERITY.failed;
      await record(
        {
          eventKey: `final:${event.batchLogId}`,
          kind: 'batch_final',
          route: routeForSeverity(severity),
          severity,
          occurredAt: new Date(event.landedAt),
          batchLogId: event.batchLogId,
          announcesFinal: true,
          ...finalMessage(event, details, pricing),
        },
        ctx,
      );
    },

    /** One message per job (contract §5 keeps each batch's own final message beside it). */
    async jobFinalized(job: JobFinalizedEvent, ctx: EventContext): Promise<void> {
      const severity = JOB_SEVERITY[job.outcome];
      await record(
        {
          eventKey: `job-final:${job.batchJobId}`,
          kind: 'job_final',
          route: routeForSeverity(severity),
          severity,
          occurredAt: new Date(job.finalizedAt),
          batchLogId: null,
          announcesFinal: false,
          ...jobMessage(job),
        },
        ctx,
      );
    },

    async alertRaised(alert: AlertRaisedEvent, ctx: EventContext): Promise<void> {
      await record(
        {
          eventKey: `alert:${alert.alertId}`,
          kind: 'alert',
          // The monitor's rule says where: Slack (by severity), or the log only.
          route: alert.channels.includes('slack') ? routeForSeverity(alert.severity) : 'log',
          severity: alert.severity,
          occurredAt: new Date(alert.raisedAt),
          batchLogId: alert.batchLogIds.length === 1 ? alert.batchLogIds[0]! : null,
          announcesFinal: false,
          ...alertMessage(alert),
        },
        ctx,
      );
    },

    async opsError(error: OpsErrorEvent, ctx: EventContext): Promise<void> {
      const jobType = error.batchLogId === null ? null : await getBatchJobType(pool, error.batchLogId);
      await record(
        {
          eventKey: `ops:${error.occurrenceId}`,
          kind: 'ops_error',
          route: routeForSeverity(error.severity),
          severity: error.severity,
          occurredAt: new Date(error.occurredAt),
          batchLogId: error.batchLogId,
          announcesFinal: false,
          ...opsErrorMessage(error, jobType),
        },
        ctx,
      );
    },

    async pollerSummary(summary: PollerSummaryEvent, ctx: EventContext): Promise<void> {
      await record(
        {
          eventKey: `poller-summary:${summary.poller}:${summary.periodEnd}`,
          kind: 'poller_summary',
          route: 'default',
          severity: 'low',
          occurredAt: new Date(summary.periodEnd),
          batchLogId: null,
          announcesFinal: false,
          ...pollerSummaryMessage(summary),
        },
        ctx,
      );
    },
  };
}
