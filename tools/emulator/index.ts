export type { BatchPlan, PlannedRequest, RequestResult } from './src/batch-plan.ts';
export type { EmulatedBatch } from './src/batch-service.ts';
export { viewpointClassifier } from './src/classifier.ts';
export { type Emulator, startEmulator } from './src/emulator.ts';
export type { LifecycleInput, LifecycleState } from './src/lifecycle.ts';
export type { EmulatedMessageBatch } from './src/message-batches.ts';
export type {
  BatchErrorEntry,
  BatchObject,
  BatchOutcome,
  BatchRequestLine,
  BatchStatus,
  EmulatorClock,
  EmulatorOptions,
  ExpectedBatchOutcomes,
  ExpectedOutcome,
  FileObject,
  FilePurpose,
  HttpFault,
  InjectedFault,
  LineFault,
  MessageBatchObject,
  MessageBatchOutcome,
  RequestLogEntry,
} from './src/types.ts';
