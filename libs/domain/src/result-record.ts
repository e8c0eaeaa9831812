/** A request's id: an integer when the job type's `$id` columns are integers, a string otherwise. */
export type RequestId = number | string;

/** One value of a landed row: jsonb travels as its JSON text, vectors (`real[]`) as numbers. */
export type RowValue = string | number | boolean | null | number[];

/** The verdict on one answer: its rows (value columns only, in the target's order), or why it failed. */
export type AnswerCheck = { ok: true; rows: RowValue[][] } | { ok: false; code: string; message: string };

/**
 * One request outcome, validated: what the fetcher publishes and the persister writes. On the bus it travels as
 * a compact tuple (libs/events `ResultRecordTuple`, the one schema that checks it).
 */
export interface ResultRecord {
  customId: string;
  /** The request's id from `customId`; null when `customId` is not `<prefix>-<id>` of the batch's job type. */
  requestId: RequestId | null;
  /** `failed` exactly when `errorCode` is set. */
  outcome: 'succeeded' | 'failed';
  /**
   * The rows to land: each the job type's value columns (`target.valueColumns`, in order); the id columns are the
   * request id. Always empty for a failed request.
   */
  rows: RowValue[][];
  errorCode: string | null;
  errorMessage: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  /**
   * The part of `promptTokens` read from the provider's prompt cache (OpenAI
   * `usage.prompt_tokens_details.cached_tokens`, Anthropic `cache_read_input_tokens`), priced at the cached-input
   * price; absent or null when the provider did not say (events written before it was carried).
   */
  cachedPromptTokens?: number | null;
}

/** Error codes of docs/interface.md §4 that we assign ourselves (provider codes pass through unchanged). */
export const ResultErrorCode = {
  invalidContent: 'invalid_content',
  unknownViewpoint: 'unknown_viewpoint',
  invalidCustomId: 'invalid_custom_id',
  missingResult: 'missing_result',
  batchCancelled: 'batch_cancelled',
  batchExpired: 'batch_expired',
} as const;

export const httpErrorCode = (status: number): string => `http_${status}`;

/** Longest error message we store; provider messages can be arbitrarily long. */
export const MAX_ERROR_MESSAGE_LENGTH = 500;

export function failedRecord(
  customId: string,
  requestId: RequestId | null,
  errorCode: string,
  errorMessage: string | null,
  tokens: { promptTokens: number | null; completionTokens: number | null } = {
    promptTokens: null,
    completionTokens: null,
  },
): ResultRecord {
  return {
    customId,
    requestId,
    outcome: 'failed',
    rows: [],
    errorCode,
    errorMessage: errorMessage === null ? null : errorMessage.slice(0, MAX_ERROR_MESSAGE_LENGTH),
    ...tokens,
  };
}
