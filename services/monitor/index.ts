export { CLI_ACTOR, retryFromCommandLine } from './src/actions/command-line.ts';
export { ApiError } from './src/api-error.ts';
export { buildApp } from './src/app.ts';
export { monitorService } from './src/service.ts';
