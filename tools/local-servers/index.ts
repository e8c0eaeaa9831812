export {
  type HaltMode,
  isRestartable,
  type LocalServer,
  type LocalServerErrorCode,
  LocalServerUnavailableError,
  type ProbeResult,
  type RestartableServer,
} from './src/local-server.ts';
export { type EnsureNatsOptions, ensureNats } from './src/nats.ts';
export { type EnsurePostgresOptions, ensurePostgres } from './src/postgres.ts';
