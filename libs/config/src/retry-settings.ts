import { RetryCode, type RetryPolicy } from '@batchline/domain';
import { z } from 'zod';
import { setting } from './setting.ts';
import { commaList, duration, integer } from './values.ts';

/** Error codes, each checked as a policy may hold it (`invalid_custom_id` is refused, patterns such as http_5xx pass). */
const retryCodes = commaList.pipe(z.array(RetryCode));

/**
 * The retry policy of a job whose job type declares none (or declares only part of one): read by whatever creates
 * jobs (submit, track) and snapshotted into each job.
 */
export const RetryPolicySettings = {
  RETRY_CODES: setting(retryCodes, {
    description:
      'error codes whose requests go out again in the next retry round (patterns: http_5xx); never invalid_custom_id',
    default: 'http_429,http_5xx,batch_expired,missing_result,rate_limit_exceeded,server_error',
    fix: 'Use comma-separated lower-case error codes such as http_429,http_5xx,batch_expired (not invalid_custom_id).',
  }),
  RETRY_MAX_ROUNDS: setting(integer(0, 20), {
    description: 'most automatic retry rounds of a job (0: none)',
    default: '3',
    fix: 'Use a whole number between 0 and 20, such as 3.',
  }),
  RETRY_DELAY: setting(duration, {
    description: 'how long after a batch ends its retryable failures go out in the next round',
    default: '1m',
  }),
};

/** The default retry policy the settings declare. */
export function defaultRetryPolicy(settings: {
  RETRY_CODES: string[];
  RETRY_MAX_ROUNDS: number;
  RETRY_DELAY: number;
}): RetryPolicy {
  return { codes: settings.RETRY_CODES, maxRounds: settings.RETRY_MAX_ROUNDS, delayMs: settings.RETRY_DELAY };
}
