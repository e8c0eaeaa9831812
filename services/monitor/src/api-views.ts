import {
  type BatchJobFigures as BatchJobFiguresRow,
  type BatchJob as BatchJobRow,
  scopeKey,
} from '@batchline/db';
import { type AlertRule, formatMinute } from './alert-cadence.ts';
import type {
  AlertRules,
  BatchJob,
  BatchJobFigures,
  JobBatch,
  Polling,
  ProviderState,
  RecentAlert,
} from './api-schema.ts';
import type { BatcherQueueGroup, BatcherWait } from './batcher-queue-schema.ts';
import type { AlertConfig, RaisedAlert } from './store/alerts.ts';
import type { BatcherQueueRow } from './store/batcher-queue.ts';
import type { PollingState } from './store/polling-control.ts';
import type { ProviderStateRow } from './store/provider-states.ts';

// The store's rows as the admin API shows them (jobs: `jobView` in figures.ts, which prices them).

export const pollingView = (polling: PollingState): Polling => ({
  paused: polling.paused,
  changedAt: polling.changedAt.toISOString(),
  changedBy: polling.changedBy,
  pausedBatches: polling.pausedBatches,
});

export const alertRulesView = (config: AlertConfig, rules: readonly AlertRule[]): AlertRules => ({
  errorRateThreshold: config.errorRatePercent,
  processingTimeThreshold: config.processingTimeMs,
  throughputThreshold: config.minJobsPerHour,
  stuckBatchThreshold: config.stuckBatchMs,
  batchFailureThreshold: config.failedBatches,
  notificationChannels: config.channels,
  alertSuppression: config.suppressionMs,
  evaluationWindow: config.evaluationWindowMs,
  perRule: Object.fromEntries(
    rules.map((rule) => [
      rule.condition,
      {
        cadence: rule.cadence,
        quietHours: rule.quietHours
          ? {
              start: formatMinute(rule.quietHours.startMinute),
              end: formatMinute(rule.quietHours.endMinute),
              timeZone: rule.quietHours.timeZone,
            }
          : null,
        jobType: rule.jobType,
        provider: rule.provider,
      },
    ]),
  ) as AlertRules['perRule'],
  updatedAt: config.updatedAt.toISOString(),
  updatedBy: config.updatedBy,
});

export const alertView = (alert: RaisedAlert): RecentAlert => ({
  id: alert.id,
  condition: alert.condition,
  severity: alert.severity,
  message: alert.message,
  value: alert.value,
  threshold: alert.threshold,
  batchLogIds: alert.batchLogIds,
  channels: alert.channels,
  raisedAt: alert.raisedAt.toISOString(),
  dueAt: alert.dueAt?.toISOString() ?? null,
  digestedIn: alert.digestedIn,
  digestOf: alert.digestOf,
});

export const providerStateView = (row: ProviderStateRow): ProviderState => ({
  provider: row.provider,
  paused: row.paused,
  pause:
    row.paused && row.kind && row.reason && row.since && row.until
      ? {
          kind: row.kind,
          reason: row.reason,
          since: row.since.toISOString(),
          until: row.until.toISOString(),
          needsProbe: row.needsProbe,
        }
      : null,
  lastRateLimit:
    row.kind === 'rate_limited' && row.since && row.until
      ? { at: row.since.toISOString(), until: row.until.toISOString() }
      : null,
});

export const jobFiguresView = ({ batchJobId: _, ...figures }: BatchJobFiguresRow): BatchJobFigures => figures;

/** A job without its figures and batches (the job a detail view belongs to). */
export const jobHeaderView = (job: BatchJobRow): Omit<BatchJob, 'figures' | 'batches'> => ({
  id: job.id,
  key: scopeKey({ batchJobId: job.id }),
  jobType: job.jobType,
  provider: job.provider,
  model: job.model,
  origin: job.origin,
  outcome: job.outcome,
  createdAt: job.createdAt.toISOString(),
  finalizedAt: job.finalizedAt?.toISOString() ?? null,
});

export const batchJobView = (
  job: BatchJobRow,
  figures: BatchJobFiguresRow,
  batches: JobBatch[],
): BatchJob => ({ ...jobHeaderView(job), figures: jobFiguresView(figures), batches });

export const batcherQueueView = (row: BatcherQueueRow): BatcherQueueGroup => ({
  jobType: row.jobType,
  provider: row.provider,
  model: row.model,
  pending: row.pending,
  oldestAgeSeconds: row.oldestAgeSeconds,
  nextBatchDueAt: row.nextBatchDueAt?.toISOString() ?? null,
  paused: row.paused,
  // The table's CHECK holds it to these values.
  waitingFor: row.waitingFor as BatcherWait | null,
  budget:
    row.dailyBudgetUsd === null
      ? null
      : { dailyUsd: row.dailyBudgetUsd, spentTodayUsd: row.spentTodayUsd ?? 0 },
  updatedAt: row.updatedAt.toISOString(),
  stale: row.stale,
});
