export { type HealthChecks, type HealthServer, startHealthServer } from './src/health-server.ts';
export {
  requiredVariables,
  runService,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceWork,
  type StartedService,
  startService,
} from './src/service.ts';
