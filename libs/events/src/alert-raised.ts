import { z } from 'zod';
import { Severity, Timestamp } from './common.ts';

/** The conditions the monitor's alert rules watch (services/monitor/README.md defines each). */
export const AlertCondition = z.enum([
  'high_error_rate',
  'long_processing_time',
  'low_throughput',
  'stuck_batches',
  'batch_failures',
]);
export type AlertCondition = z.infer<typeof AlertCondition>;

/** Where an alert should be announced: Slack, or the notifier's log only. */
export const AlertChannel = z.enum(['slack', 'log']);
export type AlertChannel = z.infer<typeof AlertChannel>;

/**
 * `alert.raised` — the monitor found an alert condition true; at most one per condition per suppression window,
 * so the notifier can announce every one it receives.
 */
export const AlertRaisedEvent = z.object({
  alertId: z.number().int().positive(),
  condition: AlertCondition,
  severity: Severity,
  /** One line for people, e.g. for the Slack message. */
  message: z.string().min(1),
  /**
   * The measured value and the rule's threshold: percent (high_error_rate), ms (long_processing_time), jobs per
   * hour (low_throughput), batches (batch_failures); stuck_batches: how many batches, and the threshold in ms.
   */
  value: z.number(),
  threshold: z.number(),
  /** Batches the condition is about (the first few), when it is about batches. */
  batchLogIds: z.array(z.number().int().positive()),
  channels: z.array(AlertChannel),
  /** Length of the window the condition was measured over. */
  windowMs: z.number().int().positive(),
  raisedAt: Timestamp,
  /** No further alert for this condition before then. */
  suppressedUntil: Timestamp,
});
export type AlertRaisedEvent = z.infer<typeof AlertRaisedEvent>;
