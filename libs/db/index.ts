export {
  type BatchLog,
  getBatchLog,
  insertBatchLog,
  listBatchLogs,
  loadRequestCustomIds,
  type NewBatchLog,
  type RequestCounts,
} from './src/batch-logs.ts';
export { countBatchesByState, JOB_STATE_SQL, type JobState } from './src/batch-states.ts';
export { type CopyValue, copyRows, copyTextField } from './src/copy.ts';
export { DbError, type DbErrorCode, PgErrorCode, pgErrorCode } from './src/errors.ts';
export { type FinalBatchDetails, getFinalBatchDetails } from './src/final-batch-details.ts';
export type { FinalLogDetails } from './src/finalize.ts';
export {
  type FailedCheck,
  type LeasedBatch,
  type LeaseOptions,
  leaseBatch,
  leaseDueBatches,
  nextDueDelayMs,
  type ProviderCheck,
  recordProviderCheck,
  rescheduleBatch,
} from './src/leases.ts';
export { type MigrateOptions, migrate } from './src/migrate.ts';
export {
  type BundledEntry,
  type ClaimedNotification,
  type ClaimOptions,
  type CompleteOptions,
  type Completion,
  claimNextNotification,
  completeNotification,
  type DigestEntry,
  type DigestPolicy,
  type DispatchClaim,
  type DispatchOutcome,
  enqueueNotification,
  enqueueNotificationOncePer,
  type NewNotification,
  type NotificationRoute,
  type NotificationSeverity,
  type NotificationState,
} from './src/notifications.ts';
export { enqueueOutbox, type OutboxEvent } from './src/outbox.ts';
export {
  countBatchesAwaitingProvider,
  type PollerCycle,
  type PollerCycleTotals,
  purgePollerCycles,
  recordPollerCycle,
  sumPollerCycles,
} from './src/poller-cycles.ts';
export {
  claimProviderCopies,
  claimStuckBatches,
  makeBatchDueNow,
  type ProviderCopies,
  type RedrivenBatch,
  redriveBatch,
  redriveUnlandedBatches,
  releaseExpiredLeases,
  releaseProviderCopies,
  type StuckBatch,
} from './src/poller-sweeps.ts';
export {
  createPool,
  type Pool,
  type PoolOptions,
  type Queryable,
  type TransactionSource,
  withTransaction,
} from './src/pool.ts';
export {
  claimProviderProbes,
  countKnownListedBatches,
  getProviderPause,
  listProviderPauses,
  measureNotFound,
  oldestNotFoundBatch,
  type PauseRequest,
  type ProviderPause,
  type ProviderPauseKind,
  pauseProvider,
  resumeProvider,
} from './src/provider-pauses.ts';
export { type ApplyChunkOptions, applyResultsChunk, type ChunkOutcome } from './src/results.ts';
export { listViewpoints, loadViewpointIds, upsertViewpoints, type Viewpoint } from './src/viewpoints.ts';
export type { WebhookAnswer, WebhookHealth } from './src/webhook-pacing.ts';
