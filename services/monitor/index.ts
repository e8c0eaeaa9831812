export { cancelBatch } from './src/actions/cancel.ts';
export { commandLineActionDeps, commandLineContext } from './src/actions/command-line.ts';
export { type PollingScope, setPolling, setPriority } from './src/actions/polling.ts';
export { retryFailedRequests } from './src/actions/retry.ts';
export { ApiError } from './src/api-error.ts';
export { buildApp } from './src/app.ts';
export { monitorService } from './src/service.ts';
export { parseBatchLogId, parsePriorityText } from './src/validation.ts';
