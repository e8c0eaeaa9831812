export {
  DATABASE_EPISODE_KEY,
  type DatabaseWatchOptions,
  watchDatabase,
  watchPool,
} from './src/database-watch.ts';
export type { HealthChecks, HealthServer } from './src/health-server.ts';
export {
  defineService,
  loadServiceSettings,
  runService,
  type ServiceConfig,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceWork,
  type StartedService,
  startService,
} from './src/service.ts';
