export {
  type AlertConfig,
  type AlertConfigChange,
  type AlertMeasurements,
  claimAlertWindow,
  getAlertConfig,
  insertAlert,
  listRecentAlerts,
  measureAlertConditions,
  type NewAlert,
  type RaisedAlert,
  updateAlertConfig,
} from './src/alerts.ts';
export { type AuditOutcome, type AuditRecord, appendAuditRecord } from './src/audit.ts';
export {
  type BatchLog,
  getBatchLog,
  insertBatchLog,
  listBatchLogs,
  loadRequestCustomIds,
  type NewBatchLog,
  type RequestCounts,
} from './src/batch-logs.ts';
export {
  claimRetry,
  completeRetry,
  getRetrySource,
  listFailedCustomIds,
  type RetryClaim,
  type RetrySource,
  releaseRetry,
} from './src/batch-retries.ts';
export { type CopyValue, copyRows, copyTextField, copyTextInto } from './src/copy.ts';
export { DbError, type DbErrorCode, PgErrorCode, pgErrorCode } from './src/errors.ts';
export { type MigrateOptions, migrate } from './src/migrate.ts';
export {
  BUCKET_ORIGIN,
  countBatchesByState,
  getMonitoredJob,
  getPollingState,
  JOB_STATES,
  type JobState,
  type MonitoredJob,
  type MonitoringGroup,
  type MonitoringScope,
  type MonitoringSnapshot,
  type PollingState,
  readMonitoringSnapshot,
} from './src/monitoring.ts';
export { enqueueOutbox, type OutboxEvent } from './src/outbox.ts';
export {
  type BatchControlResult,
  setBatchPollingPaused,
  setBatchPollPriority,
  setPollingPaused,
} from './src/polling-control.ts';
export {
  createPool,
  type Pool,
  type PoolOptions,
  type Queryable,
  type TransactionSource,
  withTransaction,
} from './src/pool.ts';
export { listViewpoints, loadViewpointIds, upsertViewpoints, type Viewpoint } from './src/viewpoints.ts';
