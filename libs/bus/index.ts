export {
  type Bus,
  type BusOptions,
  type BusStatus,
  connectBus,
  type PublishOptions,
  type PublishResult,
  type RawPublishOptions,
} from './src/bus.ts';
export {
  type ConsumeOptions,
  type Consumption,
  DEFAULT_RETRY_DELAYS_MS,
  type EventContext,
  type EventHandler,
  retryDelayMs,
} from './src/consume.ts';
export {
  type DeadLetter,
  type DeadLetterVia,
  DlqHeaders,
  deadLetterOf,
  type FailedMessage,
  MaxDeliveriesAdvisory,
  REDRIVE_OF_HEADER,
  recordDeadLetter,
  redriveDeadLetter,
  redriveMsgId,
} from './src/dead-letters.ts';
export {
  BusConnectionError,
  PoisonMessageError,
  TopologyError,
  TransientError,
} from './src/errors.ts';
export { type BusNaming, busNaming } from './src/naming.ts';
export type { RecordedMessage, StreamSelection } from './src/recorded.ts';
export {
  copiedHeaders,
  newReplayRunId,
  notificationStreams,
  ReplayHeaders,
  type ReplaySelection,
  replayableStreams,
  replayMessage,
  replayMsgId,
  selectForReplay,
} from './src/replay.ts';
export {
  type ConsumerName,
  type ConsumerSettings,
  type ConsumerSubject,
  Consumers,
  DEFAULT_CONSUMER_SETTINGS,
  DEFAULT_STREAM_MAX_AGE_MS,
  DLQ_RECORDER,
  DLQ_RECORDER_STREAM,
  DLQ_SUBJECT_PREFIX,
  DUPLICATE_WINDOW_MS,
  dlqSubjectFor,
  maxDeliveriesAdvisorySubject,
  type StreamName,
  Streams,
  streamOfSubject,
  streamSubjects,
  type TopologyAction,
  type TopologyOptions,
  type TopologyReport,
} from './src/topology.ts';
