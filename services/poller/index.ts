export { type CheckDeps, type CheckOutcome, type CheckResult, checkBatch } from './src/check-batch.ts';
export { type PollLoop, type PollLoopOptions, startPollLoop } from './src/poll-loop.ts';
export { checkDepsFromConfig, pollerService } from './src/service.ts';
export { type SweepOptions, type SweepReport, startSweeps, sweepOnce } from './src/sweeps.ts';
export { startWebhookServer, WEBHOOK_PATH, type WebhookServer } from './src/webhook-server.ts';
