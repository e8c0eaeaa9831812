export { formatDuration, parseDuration } from './src/duration.ts';
export {
  ConfigError,
  describeSettings,
  loadSettings,
  type Requirement,
  type SettingDescription,
  secretValues,
} from './src/load.ts';
export {
  DEFAULT_MODEL_PRICES,
  MODEL_PRICES_SOURCE,
  type ModelPrice,
  type ModelPriceTable,
  parseModelPrices,
} from './src/model-prices.ts';
export { DatabaseTroubleSettings, OpsEpisodeSettings } from './src/ops-settings.ts';
export {
  DEFAULT_BATCH_DISCOUNT_PERCENT,
  type PricedProvider,
  type Pricing,
  priceOf,
  pricingFrom,
  type TokenCost,
  tokenCost,
} from './src/pricing.ts';
export { RetentionPurgeSettings, RetentionSettings } from './src/retention-settings.ts';
export { defaultRetryPolicy, RetryPolicySettings } from './src/retry-settings.ts';
export { type SettingDoc, type Settings, type SettingsShape, setting } from './src/setting.ts';
export {
  AnthropicSettings,
  BusSettings,
  DatabaseSettings,
  JobTypeSettings,
  LogSettings,
  OpenAISettings,
  PollScheduleSettings,
  PROVIDER_API_KEYS,
  PricingSettings,
  ProviderSettings,
  ServiceSettings,
  TelemetrySettings,
} from './src/shared-settings.ts';
export { commaList, duration, durationList, flag, httpUrl, integer, port, text, url } from './src/values.ts';
export { WebhookSettings } from './src/webhook-settings.ts';
