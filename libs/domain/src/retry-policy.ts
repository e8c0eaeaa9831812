import { z } from 'zod';
import { ResultErrorCode } from './result-record.ts';

/**
 * A job's retry policy (issue 15): which failed requests go out again, in how many rounds at most, how long after
 * the batch they failed in ended. A job keeps the policy in force when it was created (`batch_jobs.retry_policy`),
 * so that a later change of the job type or the default does not change a running job.
 */
export interface RetryPolicy {
  /** Error codes, or patterns whose trailing `x`s stand for digits (`http_5xx`). */
  codes: readonly string[];
  /** Most retry rounds after the job's first batches (0: never retried automatically). */
  maxRounds: number;
  /** How long after a batch ends its retryable failures go out. */
  delayMs: number;
}

/** What a declaration or the configuration may leave out of a policy; the default fills it. */
export type RetryPolicyOverride = Partial<RetryPolicy>;

/**
 * Codes no policy may list: a custom id batchline cannot read back can never be matched to its request, so
 * resubmitting it can only fail the same way.
 */
export const NEVER_RETRYABLE_CODES: readonly string[] = [ResultErrorCode.invalidCustomId];

/** An error code, or a pattern ending in digits-wildcards after a digit (`http_5xx`, `http_42x`). */
const CODE_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;
const DIGIT_WILDCARDS = /^(.*\d)(x+)$/;

/** Why `code` cannot be in a policy's codes, or null when it can. */
export function retryCodeProblem(code: string): string | null {
  if (!CODE_PATTERN.test(code)) {
    return `"${code}" is not an error code: use lower-case letters, digits and _, such as http_429 or http_5xx`;
  }
  if (NEVER_RETRYABLE_CODES.some((never) => codeMatches(code, never))) {
    return `"${code}" is never retryable: a request whose custom id cannot be read cannot be resubmitted`;
  }
  return null;
}

/** An error code or pattern a retry policy (or a manual retry's filter) may hold; the issue says why not. */
export const RetryCode = z.string().superRefine((code, ctx) => {
  const problem = retryCodeProblem(code);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
});

/** Whether `code` is `pattern`, or matches it digit for digit where the pattern's trailing `x`s stand. */
export function codeMatches(pattern: string, code: string): boolean {
  if (pattern === code) return true;
  const wildcard = DIGIT_WILDCARDS.exec(pattern);
  if (wildcard === null) return false;
  const [, prefix, xs] = wildcard as unknown as [string, string, string];
  if (code.length !== prefix.length + xs.length || !code.startsWith(prefix)) return false;
  return /^\d+$/.test(code.slice(prefix.length));
}

/** Whether a request that failed with `code` may go out again under `policy`. */
export function isRetryableCode(policy: Pick<RetryPolicy, 'codes'>, code: string | null): boolean {
  if (code === null || NEVER_RETRYABLE_CODES.includes(code)) return false;
  return policy.codes.some((pattern) => codeMatches(pattern, code));
}

/** The policy a job of a job type gets: the job type's declaration laid over the default, field by field. */
export function resolveRetryPolicy(
  defaults: RetryPolicy,
  override: RetryPolicyOverride | undefined,
): RetryPolicy {
  return {
    codes: override?.codes ?? defaults.codes,
    maxRounds: override?.maxRounds ?? defaults.maxRounds,
    delayMs: override?.delayMs ?? defaults.delayMs,
  };
}

/**
 * The round a retry of a batch in round `parentRound` would be, or null when the policy's rounds are spent
 * (round 0 holds the job's parts; round n is the n-th retry).
 */
export function nextRetryRound(policy: Pick<RetryPolicy, 'maxRounds'>, parentRound: number): number | null {
  const next = parentRound + 1;
  return next <= policy.maxRounds ? next : null;
}

/** A failed request of a batch that ended, as round eligibility sees it. */
export interface FailedRequest {
  customId: string;
  errorCode: string | null;
}

/**
 * The failed requests of an ended batch that go out in the next round: retryable under the policy, not succeeded
 * in any batch of the job, and not already out in a live round (a request is never in two live rounds at once).
 * A manual retry passes its filter of codes as the policy's.
 */
export function selectRetryRequests(
  policy: Pick<RetryPolicy, 'codes'>,
  failed: readonly FailedRequest[],
  succeededInJob: ReadonlySet<string>,
  inLiveRound: ReadonlySet<string>,
): string[] {
  const selected = new Set<string>();
  for (const { customId, errorCode } of failed) {
    if (!isRetryableCode(policy, errorCode)) continue;
    if (succeededInJob.has(customId) || inLiveRound.has(customId)) continue;
    selected.add(customId);
  }
  return [...selected];
}
