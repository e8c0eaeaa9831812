export { parseAnswerShares } from './src/answer-shares.ts';
export type { BatchPlan, PlannedRequest, RequestResult } from './src/batch-plan.ts';
export type { EmulatedBatch } from './src/batch-service.ts';
export { catalogueMatcher, viewpointClassifier } from './src/classifier.ts';
export { embeddingOf } from './src/embeddings.ts';
export { type Emulator, startEmulator } from './src/emulator.ts';
export { type EnqueuedTokenLimit, parseEnqueuedTokenLimit } from './src/enqueued-tokens.ts';
export type { LifecycleInput, LifecycleState } from './src/lifecycle.ts';
export type { EmulatedMessageBatch } from './src/message-batches.ts';
export { expectedRequestOutcome, type MessageBatchRequest } from './src/oracle.ts';
export { type AttemptLineFaults, transientFailures } from './src/transient-failures.ts';
export type {
  AnswerShares,
  AnswerSharesOption,
  BatchErrorEntry,
  BatchObject,
  BatchOutcome,
  BatchRequestLine,
  BatchStatus,
  EmulatorClock,
  EmulatorOptions,
  ExpectedBatchOutcomes,
  ExpectedOutcome,
  FailedOutcome,
  FileObject,
  FilePurpose,
  HttpFault,
  InjectedFault,
  LineFault,
  MessageBatchObject,
  MessageBatchOutcome,
  RequestLogEntry,
  SucceededOutcome,
} from './src/types.ts';
