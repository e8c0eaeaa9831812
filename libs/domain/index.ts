export {
  BatchStatus,
  type BatchStatusCode,
  type BatchStatusName,
  batchStatusName,
  classifyProviderStatus,
  END_REASONS,
  type EndedRequestCounts,
  type EndReason,
  type FinalStatusCode,
  isKnownProviderStatus,
  PROVIDERS,
  type ProviderName,
  type ProviderPhase,
  SEVERITIES,
  type Severity,
} from './src/batch-status.ts';
export { CHAT_COMPLETIONS_URL, type Viewpoint } from './src/classification-request.ts';
export {
  type CompletionEstimate,
  type CompletionEstimateBasis,
  type CompletionEstimateInput,
  estimateCompletion,
} from './src/completion-estimate.ts';
export { LineSplitter, type SplitLine } from './src/line-splitter.ts';
export { nextPollDelayMs, pollDelayMs } from './src/poll-schedule.ts';
export { type BatchLimits, PROVIDER_BATCH_LIMITS } from './src/provider-limits.ts';
export {
  type LineContext,
  type ParsedLine,
  parseAnthropicResultLine,
  parseOpenAIResultLine,
  type ResultFileKind,
  type ResultReader,
} from './src/result-line.ts';
export {
  type AnswerCheck,
  failedRecord,
  httpErrorCode,
  MAX_ERROR_MESSAGE_LENGTH,
  type RequestId,
  ResultErrorCode,
  type ResultRecord,
  type RowValue,
} from './src/result-record.ts';
export {
  codeMatches,
  type FailedRequest,
  isRetryableCode,
  NEVER_RETRYABLE_CODES,
  nextRetryRound,
  RetryCode,
  type RetryPolicy,
  type RetryPolicyOverride,
  resolveRetryPolicy,
  retryCodeProblem,
  selectRetryRequests,
} from './src/retry-policy.ts';
