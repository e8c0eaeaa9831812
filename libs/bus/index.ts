export type { QueueBacklog } from './src/backlog.ts';
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
  redriveDeadLetter,
} from './src/dead-letters.ts';
export { BusConnectionError, PoisonMessageError, TopologyError, TransientError } from './src/errors.ts';
export { type BusNaming, busNaming } from './src/naming.ts';
export type { RecordedMessage, StreamSelection } from './src/recorded.ts';
export {
  newReplayRunId,
  notificationStreams,
  type ReplaySelection,
  replayableStreams,
  replayMessage,
  selectForReplay,
} from './src/replay.ts';
export {
  type ConsumerName,
  type ConsumerSettings,
  type ConsumerSubject,
  Consumers,
  type StreamName,
  Streams,
  streamOfSubject,
  type TopologyAction,
  type TopologyOptions,
  type TopologyReport,
} from './src/topology.ts';
