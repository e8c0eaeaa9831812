export {
  type Config,
  ConfigError,
  type ConfigRequirement,
  type ConfigVariable,
  loadConfig,
  PROVIDER_API_KEYS,
  secretValues,
} from './src/config.ts';
export { formatDuration, parseDuration } from './src/duration.ts';
export {
  DEFAULT_MODEL_PRICES,
  type ModelPrice,
  type ModelPriceTable,
  parseModelPrices,
} from './src/model-prices.ts';
