export type { CheckDeps, CheckResult } from './src/check-batch.ts';
export {
  type BatchCheckNow,
  checkBatchNow,
  checkPendingBatchesNow,
  type ManualCheckOptions,
  type PendingChecksReport,
} from './src/manual-checks.ts';
export { checkDepsFromConfig, pollerService } from './src/service.ts';
export { pollerSettings } from './src/settings.ts';
export { type ProviderPause, resumeProvider } from './src/store/provider-pauses.ts';
