export {
  type OutboxPublisher,
  type OutboxRelay,
  type OutboxRelayOptions,
  purgePublishedOutbox,
  startOutboxRelay,
} from './src/relay.ts';
