export {
  type BatchLog,
  getBatchLog,
  insertBatchLog,
  listBatchLogs,
  type NewBatchLog,
  type RequestCounts,
} from './src/batch-logs.ts';
export { type CopyValue, copyRows, copyTextField } from './src/copy.ts';
export { DbError, type DbErrorCode, PgErrorCode, pgErrorCode } from './src/errors.ts';
export type { FinalLogDetails } from './src/finalize.ts';
export {
  type LeasedBatch,
  type LeaseOptions,
  leaseBatch,
  leaseDueBatches,
  type ProviderCheck,
  recordProviderCheck,
  rescheduleBatch,
} from './src/leases.ts';
export { type MigrateOptions, migrate } from './src/migrate.ts';
export {
  claimNotification,
  completeNotification,
  markFinalNotified,
  type NotificationClaim,
  type NotificationState,
} from './src/notifications.ts';
export { enqueueOutbox, type OutboxEvent } from './src/outbox.ts';
export {
  createPool,
  type Pool,
  type PoolOptions,
  type Queryable,
  type TransactionSource,
  withTransaction,
} from './src/pool.ts';
export { type ApplyChunkOptions, applyResultsChunk, type ChunkOutcome } from './src/results.ts';
export { listViewpoints, loadViewpointIds, upsertViewpoints, type Viewpoint } from './src/viewpoints.ts';
