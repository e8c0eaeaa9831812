export {
  type HaltMode,
  isRestartable,
  type LocalServer,
  type LocalServerErrorCode,
  LocalServerUnavailableError,
  type ProbeResult,
  type RestartableServer,
} from './src/local-server.ts';
export { DEFAULT_NATS_URL, type EnsureNatsOptions, ensureNats, probeNats } from './src/nats.ts';
export { findFreeLoopbackPort, portAnswers } from './src/ports.ts';
export {
  CONVENTIONAL_POSTGRES_URL,
  type EnsurePostgresOptions,
  ensurePostgres,
  probePostgres,
} from './src/postgres.ts';
