import type { WebhookEventName } from '@batchline/job-types';

/** The longest pause between two attempts, however many came before. */
export const MAX_RETRY_DELAY_MS = 60 * 60_000;

/**
 * The stable id of a public event, sent as `webhook-id`: one per batch and one per job, so a redelivered or
 * replayed event (its NATS message id aside) is still the same event to every endpoint.
 */
export const webhookEventId = (subject: WebhookEventName, key: number): string => `${subject}:${key}`;

/** The pause after the `attempts`-th failed attempt: `firstMs`, doubling each time, at most an hour. */
export const retryDelayMs = (attempts: number, firstMs: number): number =>
  Math.min(firstMs * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_MS);

/** What one attempt came to. */
export type AttemptOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'failed'; status: number | null; error: string };

/** A 2xx answer delivers; any other answer (redirects included: they are not followed) is a failed attempt. */
export const outcomeOfStatus = (status: number): AttemptOutcome =>
  status >= 200 && status < 300
    ? { kind: 'delivered', status }
    : { kind: 'failed', status, error: `endpoint answered ${status}` };

/** A failed request's error without the URL: its kind (timeout) or the socket error code. */
export function outcomeOfError(error: unknown): AttemptOutcome {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return { kind: 'failed', status: null, error: 'no answer within WEBHOOK_TIMEOUT' };
  }
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : 'request failed';
  return { kind: 'failed', status: null, error: `could not reach the endpoint: ${code}` };
}

/** Whether the `attempts`-th failed attempt is the last one allowed. */
export const isLastAttempt = (attempts: number, maxAttempts: number): boolean => attempts >= maxAttempts;
