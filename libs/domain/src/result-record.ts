import { z } from 'zod';

/**
 * One request outcome, validated: what the fetcher publishes and the persister writes. Compact on purpose — a
 * chunk of about a thousand of these travels in one NATS message.
 */
export const ResultRecordSchema = z.object({
  customId: z.string().min(1).max(512),
  /** The review sentence the request was about; null when `customId` is not of the form `rs-<id>`. */
  sentenceId: z.number().int().positive().nullable(),
  outcome: z.enum(['succeeded', 'failed']),
  /** Viewpoints to associate; always empty for a failed request. */
  viewpointIds: z.array(z.number().int().positive()),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  promptTokens: z.number().int().nonnegative().nullable(),
  completionTokens: z.number().int().nonnegative().nullable(),
});
export type ResultRecord = z.infer<typeof ResultRecordSchema>;

/** Error codes of contract §4 that we assign ourselves (provider codes pass through unchanged). */
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
