export type { ActionDeps, CancelOutcome, RetryOutcome } from './src/actions.ts';
export {
  ALERT_SEVERITY,
  type AlertEvaluator,
  evaluateAlerts,
  startAlertEvaluator,
  type TriggeredCondition,
  triggeredConditions,
} from './src/alerts.ts';
export { ApiError } from './src/api-error.ts';
export { ADMIN_PREFIX, buildApp, type MonitorAppDeps } from './src/app.ts';
export { type AuthFailure, type Principal, type Role, TokenVerifier } from './src/auth.ts';
export {
  assertDashboardBuilt,
  DashboardMissingError,
  DEFAULT_DASHBOARD_DIR,
} from './src/dashboard-assets.ts';
export {
  computeFigures,
  type FigureInput,
  type Figures,
  type JobView,
  jobView,
  money,
  type Pricing,
  percent,
  rate,
  TIME_RANGES,
  type TimeRange,
} from './src/figures.ts';
export { createMonitorMetrics, type MonitorMetrics } from './src/metrics.ts';
export { priceForModel, type TokenCost, tokenCost } from './src/pricing.ts';
export { type RateDecision, RateLimiter } from './src/rate-limit.ts';
export { monitorService } from './src/service.ts';
export { type MonitoringQuery, MonitoringQuerySchema } from './src/validation.ts';
