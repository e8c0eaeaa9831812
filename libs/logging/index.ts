export {
  createLogger,
  type Logger,
  type LoggerOptions,
  redactSecretsIn,
  registerSecrets,
} from './src/logger.ts';
