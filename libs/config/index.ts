export { type Config, ConfigError, type ConfigVariable, loadConfig, secretValues } from './src/config.ts';
export { formatDuration, parseDuration } from './src/duration.ts';
