export {
  type Bus,
  type BusOptions,
  type BusStatus,
  connectBus,
  type PublishOptions,
  type PublishResult,
} from './src/bus.ts';
export { decodeEvent, encodeEvent, isEventSubject, validateEvent } from './src/codec.ts';
export {
  type ConsumeOptions,
  type Consumption,
  DEFAULT_RETRY_DELAYS_MS,
  DlqHeaders,
  type EventContext,
  type EventHandler,
  retryDelayMs,
} from './src/consume.ts';
export {
  BusConnectionError,
  EventValidationError,
  PoisonMessageError,
  TopologyError,
  TransientError,
} from './src/errors.ts';
export * from './src/events.ts';
export { type BusNaming, busNaming } from './src/naming.ts';
export {
  type ConsumerName,
  type ConsumerSettings,
  type ConsumerSubject,
  Consumers,
  DEFAULT_CONSUMER_SETTINGS,
  DEFAULT_STREAM_MAX_AGE_MS,
  DLQ_SUBJECT_PREFIX,
  DUPLICATE_WINDOW_MS,
  dlqSubjectFor,
  type StreamName,
  Streams,
  type TopologyAction,
  type TopologyOptions,
  type TopologyReport,
} from './src/topology.ts';
export { childTraceparent, isValidTraceparent, newTraceparent } from './src/trace.ts';
