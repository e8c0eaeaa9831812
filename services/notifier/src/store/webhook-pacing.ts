import { redactSecretsIn } from '@batchline/logging';
import type pg from 'pg';

/**
 * The token bucket of one webhook, shared by every notifier replica through one row of `slack_webhook_pacing`.
 * All times come from the database clock, so replicas whose clocks disagree still agree on the bucket.
 *
 * A dispatcher locks the row, and when the webhook is free it holds it (pushes `next_send_at` past its POST
 * timeout) while it posts; once Slack answered, it sets the next slot from that moment. Every POST therefore
 * starts at least `minIntervalMs` after the previous one was answered — and so arrives at least that long after
 * the previous one arrived — whichever replica sends it; a replica that dies while holding frees the webhook
 * when its hold runs out.
 */

/** Locks the webhook's row (creating it) until the transaction ends; returns how long until it may be used (0: now). */
export async function lockWebhookPace(client: pg.ClientBase, webhookKey: string): Promise<number> {
  await client.query('INSERT INTO slack_webhook_pacing (webhook_key) VALUES ($1) ON CONFLICT DO NOTHING', [
    webhookKey,
  ]);
  const { rows } = await client.query<{ wait_ms: number }>(
    `SELECT GREATEST(0, ceil(extract(epoch FROM next_send_at - clock_timestamp()) * 1000))::float8 AS wait_ms
     FROM slack_webhook_pacing WHERE webhook_key = $1 FOR UPDATE`,
    [webhookKey],
  );
  return rows[0]!.wait_ms;
}

/** Holds the (locked, free) webhook for `holdMs`: no replica posts to it until released or the hold runs out. */
export async function holdWebhook(
  client: pg.ClientBase,
  webhookKey: string,
  instanceId: string,
  holdMs: number,
): Promise<void> {
  await client.query(
    `UPDATE slack_webhook_pacing
     SET next_send_at = clock_timestamp() + $3 * interval '1 millisecond', holder = $2, updated_at = now()
     WHERE webhook_key = $1`,
    [webhookKey, instanceId, holdMs],
  );
}

/** How the webhook answered one POST. */
export type WebhookAnswer =
  /** Slack answered (accepted or refused the message): the webhook is reachable. */
  | { kind: 'answered' }
  /** 429: nobody may post before `retryAfterMs`. */
  | { kind: 'rate_limited'; retryAfterMs: number; error: string }
  /** 5xx, connection error or timeout: an outage, paused with backoff. */
  | { kind: 'unreachable'; error: string };

export interface WebhookHealth {
  /** 5xx answers and connection errors in a row (0 once Slack answers again). */
  consecutiveFailures: number;
  /** Start of the current failure streak. */
  failingSince: Date | null;
}

export interface ReleaseOptions {
  webhookKey: string;
  instanceId: string;
  answer: WebhookAnswer;
  /** Least time between the end of one POST and the start of the next. */
  minIntervalMs: number;
  /** Pause after the n-th failure in a row (n ≥ 1). */
  backoffMs(consecutiveFailures: number): number;
}

/**
 * Ends this instance's hold and sets the next slot from now: `minIntervalMs` after an answer, at least
 * `Retry-After` after a 429, the backoff after a failure. A hold that was already taken over (this instance
 * outlived it) is left alone.
 */
export async function releaseWebhook(client: pg.ClientBase, options: ReleaseOptions): Promise<WebhookHealth> {
  const { webhookKey, instanceId, answer, minIntervalMs } = options;
  const { rows } = await client.query<{
    holder: string | null;
    consecutive_failures: number;
    failing_since: Date | null;
  }>(
    'SELECT holder, consecutive_failures, failing_since FROM slack_webhook_pacing WHERE webhook_key = $1 FOR UPDATE',
    [webhookKey],
  );
  const current = rows[0];
  if (!current) return { consecutiveFailures: 0, failingSince: null };
  if (current.holder !== instanceId) {
    return { consecutiveFailures: current.consecutive_failures, failingSince: current.failing_since };
  }
  const failures =
    answer.kind === 'answered'
      ? 0
      : answer.kind === 'unreachable'
        ? current.consecutive_failures + 1
        : current.consecutive_failures;
  const pauseMs =
    answer.kind === 'answered'
      ? minIntervalMs
      : answer.kind === 'rate_limited'
        ? Math.max(answer.retryAfterMs, minIntervalMs)
        : Math.max(options.backoffMs(failures), minIntervalMs);
  const updated = await client.query<{ failing_since: Date | null }>(
    `UPDATE slack_webhook_pacing
     SET next_send_at = clock_timestamp() + $2 * interval '1 millisecond', holder = NULL,
         consecutive_failures = $3,
         failing_since = CASE WHEN $3 = 0 THEN NULL ELSE COALESCE(failing_since, clock_timestamp()) END,
         last_error = COALESCE($4, last_error), updated_at = now()
     WHERE webhook_key = $1
     RETURNING failing_since`,
    [webhookKey, pauseMs, failures, answer.kind === 'answered' ? null : redactSecretsIn(answer.error)],
  );
  return { consecutiveFailures: failures, failingSince: updated.rows[0]!.failing_since };
}
