export {
  type OutboxPublisher,
  type OutboxRelay,
  type OutboxRelayOptions,
  startOutboxRelay,
} from './src/relay.ts';
