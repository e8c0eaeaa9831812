export { type AnthropicProviderOptions, createAnthropicProvider } from './src/anthropic-provider.ts';
export type { DownloadGuard } from './src/guarded-download.ts';
export { createOpenAIProvider, type OpenAIProviderOptions } from './src/openai-provider.ts';
export { type BatchWebhook, openAIWebhookVerifier, WebhookSignatureError } from './src/openai-webhooks.ts';
export type {
  BatchProvider,
  CreateBatchInput,
  ListBatchesPage,
  ProviderBatch,
  ProviderBatchError,
  RequestCounts,
} from './src/provider.ts';
export { ProviderError, type ProviderErrorKind } from './src/provider-error.ts';
export {
  API_KEY_VARIABLE,
  configuredProviders,
  type ProviderSet,
  type ProviderVariables,
} from './src/provider-set.ts';
export { type ProviderCall, type TimedOperation, timedProviders } from './src/timed-providers.ts';
