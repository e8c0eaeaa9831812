export { type DownloadGuard, guardDownload } from './src/guarded-download.ts';
export {
  classifyOpenAIError,
  createOpenAIProvider,
  normalizeOpenAIBatch,
  type OpenAIProviderOptions,
} from './src/openai-provider.ts';
export type {
  BatchProvider,
  CreateBatchInput,
  ListBatchesPage,
  ProviderBatch,
  ProviderBatchError,
  RequestCounts,
} from './src/provider.ts';
export {
  ProviderError,
  type ProviderErrorKind,
  parseDurationMs,
  retryAfterMsFromHeaders,
} from './src/provider-error.ts';
