export { AlertChannel, AlertCondition, AlertRaisedEvent } from './src/alert-raised.ts';
export { BATCH_FINALIZED_VERSION, BatchFinalizedEvent } from './src/batch-finalized.ts';
export { BatchRequestEnqueuedEvent, enqueuedRequestMsgId } from './src/batch-request-enqueued.ts';
export {
  decodeEvent,
  type EncodedResultsChunk,
  encodeEvent,
  encodeRawAnswer,
  encodeResultRecord,
  encodeResultsChunk,
  isEventSubject,
  validateEvent,
} from './src/codec.ts';
export { EventValidationError } from './src/errors.ts';
export { JOB_FINALIZED_VERSION, JobFinalizedEvent } from './src/job-finalized.ts';
export {
  type EpisodeKind,
  type OpsErrorDetails,
  type OpsErrorMessage,
  opsErrorEvent,
  RUNBOOK_SECTIONS,
  runbookUrlOf,
} from './src/ops-error-message.ts';
export { OpsEpisode, OpsErrorEvent, OpsErrorKind, PollerSummaryEvent } from './src/ops-events.ts';
export {
  InvalidLines,
  ResultsParsedEvent,
  ResultsSummary,
  type ShippedRecord,
  type ShippedRows,
} from './src/results-parsed.ts';
export type { EventOf } from './src/schemas.ts';
export { StatusChangedEvent } from './src/status-changed.ts';
export { type Subject, Subjects } from './src/subjects.ts';
