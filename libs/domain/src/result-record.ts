/**
 * One request outcome, validated: what the fetcher publishes and the persister writes. On the bus it travels as
 * a compact tuple (libs/bus `ResultRecordWire`, the one schema that checks it).
 */
export interface ResultRecord {
  customId: string;
  /** The review sentence the request was about; null when `customId` is not of the form `rs-<id>`. */
  sentenceId: number | null;
  /** `failed` exactly when `errorCode` is set. */
  outcome: 'succeeded' | 'failed';
  /** Viewpoints to associate; always empty for a failed request. */
  viewpointIds: number[];
  errorCode: string | null;
  errorMessage: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
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
  sentenceId: number | null,
  errorCode: string,
  errorMessage: string | null,
  tokens: { promptTokens: number | null; completionTokens: number | null } = {
    promptTokens: null,
    completionTokens: null,
  },
): ResultRecord {
  return {
    customId,
    sentenceId,
    outcome: 'failed',
    viewpointIds: [],
    errorCode,
    errorMessage: errorMessage === null ? null : errorMessage.slice(0, MAX_ERROR_MESSAGE_LENGTH),
    ...tokens,
  };
}
