export {
  type AnthropicProviderOptions,
  classifyAnthropicError,
  createAnthropicProvider,
  normalizeAnthropicBatch,
} from './src/anthropic-provider.ts';
export { type DownloadGuard, guardDownload } from './src/guarded-download.ts';
export {
  classifyOpenAIError,
  createOpenAIProvider,
  normalizeOpenAIBatch,
  type OpenAIProviderOptions,
} from './src/openai-provider.ts';
export { type BatchWebhook, openAIWebhookVerifier, WebhookSignatureError } from './src/openai-webhooks.ts';
export type {
  BatchProvider,
  CreateBatchInput,
  ListBatchesPage,
  ProviderBatch,
  ProviderBatchError,
  RequestCounts,
} from './src/provider.ts';
export {
  describeError,
  kindForHttpStatus,
  ProviderError,
  type ProviderErrorKind,
  parseDurationMs,
  retryAfterMsFromHeaders,
} from './src/provider-error.ts';
export {
  API_KEY_VARIABLE,
  configuredProviders,
  type ProviderSet,
  type ProviderVariables,
} from './src/provider-set.ts';
