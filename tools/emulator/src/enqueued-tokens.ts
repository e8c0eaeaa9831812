import type { BatchErrorEntry } from './types.ts';

/**
 * OpenAI's enqueued-token limit: the most prompt tokens a model's unfinished batches (validating, in progress,
 * finalizing) of an organization may hold. One number for every model, or a number per model (others unlimited).
 */
export type EnqueuedTokenLimit = number | Readonly<Record<string, number>>;

/** The organization the emulator's messages name, as OpenAI's name the caller's. */
const ORGANIZATION = 'org-batchline-emulator';

/** The model's limit, or undefined when it has none. */
export const limitOf = (limit: EnqueuedTokenLimit | undefined, model: string): number | undefined =>
  typeof limit === 'number' ? limit : limit?.[model];

/**
 * The error of a batch whose prompt tokens would pass the model's limit: it fails at validation with it, as
 * OpenAI's batches do (`errors.data[0]`, the create call itself succeeds).
 */
export const tokenLimitExceeded = (model: string, limit: number): BatchErrorEntry => ({
  code: 'token_limit_exceeded',
  message: `Enqueued token limit reached for ${model} in organization ${ORGANIZATION}. Limit: ${limit} enqueued tokens. Please try again once some in_progress batches have been completed.`,
  param: null,
  line: null,
});

/**
 * The `emulator` command's `--enqueued-token-limit`: `2000000` for every model, or `gpt-4o-mini=90000` for one
 * (comma-separated for several).
 */
export function parseEnqueuedTokenLimit(text: string): EnqueuedTokenLimit {
  const parts = text.split(',').map((part) => part.trim());
  const byModel: Record<string, number> = {};
  for (const part of parts) {
    const match = /^(?:([^=\s]+)=)?(\d+)$/.exec(part);
    if (!match || Number(match[2]) < 1) {
      throw new RangeError(`"${part}" is not a limit: write 2000000 or model=2000000 (a positive integer)`);
    }
    if (match[1] === undefined) {
      if (parts.length > 1) throw new RangeError('a limit for every model stands alone: write 2000000');
      return Number(match[2]);
    }
    byModel[match[1]] = Number(match[2]);
  }
  return byModel;
}
