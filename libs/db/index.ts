export {
  type BatchJob,
  type BatchJobFigures,
  getBatchJob,
  insertBatchJob,
  type JobOrigin,
  type JobOutcome,
  listBatchJobs,
  type NewBatchJob,
  readBatchJobFigures,
} from './src/batch-jobs.ts';
export {
  type BatchLog,
  getBatchLog,
  insertBatchLog,
  type ListFilters,
  listBatchLogs,
  listJobBatchLogs,
  loadRequestCustomIds,
  type NewBatchLog,
  type RequestCounts,
  type StatusFilter,
} from './src/batch-logs.ts';
export { countBatchesByState, JOB_STATE_SQL, type JobState } from './src/batch-states.ts';
export {
  type BatchProgress,
  ESTIMATE_HISTORY_BATCHES,
  readBatchProgress,
} from './src/completion-estimates.ts';
export { type CopyValue, copyRows, copyTextField, copyTextInto } from './src/copy.ts';
export { DbError, type DbErrorCode, PgErrorCode, pgErrorCode } from './src/errors.ts';
export {
  EXPORT_CONTENTS,
  EXPORT_FORMATS,
  type ExportContent,
  type ExportFormat,
  type ExportRequest,
  exportCopySql,
  openExport,
  openScopeExport,
} from './src/export.ts';
export {
  type JobInput,
  keptRequestsOf,
  readBatchedLines,
  readJobInputs,
  recordJobInputs,
} from './src/job-inputs.ts';
export { type MigrateOptions, migrate } from './src/migrate.ts';
export {
  type CountReading,
  type EpisodeAnnouncement,
  type EpisodeTransition,
  episodeCount,
  recordCountReading,
  recordEpisodeAfterwards,
  recordHealthy,
  recordTrouble,
} from './src/ops-episodes.ts';
export { enqueueOutbox, type OutboxEvent } from './src/outbox.ts';
export {
  createPool,
  type Pool,
  type PoolOptions,
  type Queryable,
  type TransactionSource,
  withTransaction,
} from './src/pool.ts';
export { type DatabaseHealthObserver, isDatabaseTrouble, observePool } from './src/pool-observer.ts';
export {
  finalOutcomesSql,
  type OutcomeScope,
  parseScopeKey,
  type RequestOutcome,
  type RequestOutcomeFilter,
  type RequestOutcomeKind,
  readErrorSummary,
  readRequestOutcomes,
  readScopeJobType,
  scopeBatchLogsSql,
  scopeKey,
} from './src/request-outcomes.ts';
export {
  type ExistingRelation,
  ensureTargetTables,
  readExistingTable,
  type TargetTableOutcome,
} from './src/target-tables.ts';
export { listViewpoints, upsertViewpoints, type Viewpoint } from './src/viewpoints.ts';
