import type { AlertRules, Polling, RecentAlert } from './api-schema.ts';
import type { AlertConfig, RaisedAlert } from './store/alerts.ts';
import type { PollingState } from './store/polling-control.ts';

// The store's rows as the admin API shows them (jobs: `jobView` in figures.ts, which prices them).

export const pollingView = (polling: PollingState): Polling => ({
  paused: polling.paused,
  changedAt: polling.changedAt.toISOString(),
  changedBy: polling.changedBy,
  pausedBatches: polling.pausedBatches,
});

export const alertRulesView = (config: AlertConfig): AlertRules => ({
  errorRateThreshold: config.errorRatePercent,
  processingTimeThreshold: config.processingTimeMs,
  throughputThreshold: config.minJobsPerHour,
  stuckBatchThreshold: config.stuckBatchMs,
  batchFailureThreshold: config.failedBatches,
  notificationChannels: config.channels,
  alertSuppression: config.suppressionMs,
  evaluationWindow: config.evaluationWindowMs,
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
});
