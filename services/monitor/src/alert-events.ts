import { enqueueOutbox, type Pool, type Queryable } from '@batchline/db';
import { type AlertCondition, type AlertRaisedEvent, Subjects, validateEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import type { MonitorMetrics } from './metrics.ts';
import type { RaisedAlert } from './store/alerts.ts';

// What raising an alert and sending a digest share: each condition's severity and the alert.raised outbox row.

export const ALERT_SEVERITY: Record<AlertCondition, AlertRaisedEvent['severity']> = {
  batch_failures: 'critical',
  high_error_rate: 'high',
  stuck_batches: 'high',
  long_processing_time: 'medium',
  low_throughput: 'medium',
};

export interface AlertEvaluationDeps {
  pool: Pool;
  log: Logger;
  metrics: MonitorMetrics;
}

/** Writes the `alert.raised` event of an alert row to the outbox (msg id `alert:<id>`), in the caller's transaction. */
export async function enqueueAlertRaised(
  client: Queryable,
  alert: RaisedAlert,
  suppressionMs: number,
): Promise<void> {
  const event = validateEvent(Subjects.alertRaised, {
    alertId: alert.id,
    condition: alert.condition,
    severity: alert.severity,
    message: alert.message,
    value: alert.value,
    threshold: alert.threshold,
    batchLogIds: alert.batchLogIds,
    channels: alert.channels,
    windowMs: alert.windowMs,
    raisedAt: alert.raisedAt.toISOString(),
    suppressedUntil: new Date(alert.raisedAt.getTime() + suppressionMs).toISOString(),
  });
  await enqueueOutbox(client, { subject: Subjects.alertRaised, msgId: `alert:${alert.id}`, payload: event });
}
