import type { EventContext } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import { type BatchFinalizedEvent, encodeEvent, type JobFinalizedEvent } from '@batchline/events';
import type { WebhookEventName } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import type { CrashPoints } from '../crash-point.ts';
import { getBatchJobType } from '../store/batch-job-type.ts';
import { recordDelivery } from '../store/webhook-deliveries.ts';
import { webhookEventId } from './delivery-plan.ts';
import type { WebhookEndpoints } from './endpoints.ts';

/**
 * The body POSTed for an event (Standard Webhooks' payload shape): its subject as `type`, when it happened, and
 * the event as published (docs/events.md).
 */
export const webhookBody = (
  type: WebhookEventName,
  timestamp: string,
  event: BatchFinalizedEvent | JobFinalizedEvent,
): string =>
  `{"type":${JSON.stringify(type)},"timestamp":${JSON.stringify(timestamp)},"data":${new TextDecoder().decode(
    type === 'batch.finalized'
      ? encodeEvent(type, event as BatchFinalizedEvent)
      : encodeEvent(type, event as JobFinalizedEvent),
  )}}`;

export interface WebhookIntakeOptions {
  pool: Pool;
  endpoints: WebhookEndpoints;
  crash: CrashPoints;
  log: Logger;
  /** A delivery was recorded: the deliverer should look now. */
  recorded(): void;
}

/**
 * Records each public event's delivery to its job type's endpoint before the handler returns (before the ack),
 * keyed by the event's stable id and the endpoint, so a redelivered or replayed event adds nothing.
 */
export function createWebhookIntake({ pool, endpoints, crash, log, recorded }: WebhookIntakeOptions) {
  async function record(
    subject: WebhookEventName,
    key: number,
    jobType: string | null,
    body: () => string,
    ctx: EventContext,
  ): Promise<void> {
    const endpoint = endpoints.forEvent(subject, jobType);
    if (!endpoint) return;
    const eventId = webhookEventId(subject, key);
    const created = await recordDelivery(pool, {
      eventId,
      subject,
      endpoint: endpoint.name,
      urlHash: endpoint.urlHash,
      jobType,
      body: body(),
    });
    crash.reach('notifier.after_webhook_record_before_ack');
    const where = { eventId, endpoint: endpoint.name, seq: ctx.seq };
    if (created) {
      log.debug(where, 'webhook delivery recorded');
      recorded();
    } else
      log.info(where, 'event seen again (redelivery or replay); its webhook delivery was recorded before');
  }

  return {
    async batchFinalized(event: BatchFinalizedEvent, ctx: EventContext): Promise<void> {
      const jobType = await getBatchJobType(pool, event.batchLogId);
      await record(
        'batch.finalized',
        event.batchLogId,
        jobType,
        () => webhookBody('batch.finalized', event.landedAt, event),
        ctx,
      );
    },
    async jobFinalized(event: JobFinalizedEvent, ctx: EventContext): Promise<void> {
      await record(
        'job.finalized',
        event.batchJobId,
        event.jobType,
        () => webhookBody('job.finalized', event.finalizedAt, event),
        ctx,
      );
    },
  };
}
