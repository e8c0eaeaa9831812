export { type Config, ConfigError, type ConfigVariable, loadConfig, secretValues } from './src/config.ts';
export { formatDuration, parseDuration } from './src/duration.ts';
export {
  DEFAULT_MODEL_PRICES,
  type ModelPrice,
  type ModelPriceTable,
  parseModelPrices,
} from './src/model-prices.ts';
