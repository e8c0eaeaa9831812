import { type TransactionSource, withTransaction } from '@batchline/db';
import { redactSecretsIn } from '@batchline/logging';
import type pg from 'pg';
import { releaseWebhook, type WebhookHealth } from './webhook-pacing.ts';

/** How one attempt ended. */
export type DispatchOutcome =
  /** Slack accepted it (200 `ok`), or it was written to the log. */
  | { kind: 'delivered'; via: 'slack' | 'log' }
  /** 429: retried after `Retry-After`. */
  | { kind: 'rate_limited'; retryAfterMs: number; error: string }
  /** 5xx, connection error or timeout: retried with backoff; `possiblyDelivered` when the POST may have landed. */
  | { kind: 'transient'; error: string; possiblyDelivered: boolean }
  /** Slack refused it for good (`invalid_payload`, `channel_not_found`, ...): not retried. */
  | { kind: 'refused'; code: string; error: string };

export interface CompleteOptions {
  webhookKey: string;
  eventKey: string;
  instanceId: string;
  outcome: DispatchOutcome;
  minIntervalMs: number;
  backoffMs(consecutiveFailures: number): number;
}

export interface Completion extends WebhookHealth {
  /** False when this instance's claim had run out and another dispatcher took the message over. */
  recorded: boolean;
}

const MAX_ERROR_LENGTH = 500;
const errorText = (error: string): string => redactSecretsIn(error).slice(0, MAX_ERROR_LENGTH);

async function recordOutcome(
  client: pg.ClientBase,
  eventKey: string,
  instanceId: string,
  outcome: DispatchOutcome,
): Promise<boolean> {
  const claimed = `WHERE event_key = $1 AND state = 'sending' AND claimed_by = $2`;
  switch (outcome.kind) {
    case 'delivered': {
      const result = await client.query(
        `UPDATE notifications SET state = $3, sent_at = now(), claim_expires_at = NULL ${claimed}`,
        [eventKey, instanceId, outcome.via === 'slack' ? 'sent' : 'logged'],
      );
      return result.rowCount === 1;
    }
    case 'refused': {
      const result = await client.query(
        `UPDATE notifications SET state = 'failed', error_code = $3, last_error = $4, claim_expires_at = NULL
         ${claimed}`,
        [eventKey, instanceId, outcome.code, errorText(outcome.error)],
      );
      return result.rowCount === 1;
    }
    default: {
      const possiblyDelivered = outcome.kind === 'transient' && outcome.possiblyDelivered;
      const result = await client.query(
        `UPDATE notifications
         SET state = 'pending', claimed_by = NULL, claim_expires_at = NULL, last_error = $3,
             possible_repeat = possible_repeat OR $4
         ${claimed}`,
        [eventKey, instanceId, errorText(outcome.error), possiblyDelivered],
      );
      return result.rowCount === 1;
    }
  }
}

/**
 * Records how an attempt ended and releases the webhook for the next slot, in one transaction. A delivered
 * final-status message (or digest) stamps `final_notified_at` on its batch logs.
 */
export async function completeNotification(
  db: TransactionSource,
  options: CompleteOptions,
): Promise<Completion> {
  const { outcome } = options;
  return withTransaction(db, async (client) => {
    const recorded = await recordOutcome(client, options.eventKey, options.instanceId, outcome);
    if (recorded && outcome.kind === 'delivered') {
      await client.query(
        `UPDATE batch_jobs_vp_logs SET final_notified_at = now()
         WHERE final_notified_at IS NULL AND id IN (
           SELECT batch_log_id FROM notifications
           WHERE announces_final AND batch_log_id IS NOT NULL AND (event_key = $1 OR digest_key = $1))`,
        [options.eventKey],
      );
    }
    const health = await releaseWebhook(client, {
      webhookKey: options.webhookKey,
      instanceId: options.instanceId,
      answer:
        outcome.kind === 'rate_limited'
          ? outcome
          : outcome.kind === 'transient'
            ? { kind: 'unreachable', error: outcome.error }
            : { kind: 'answered' },
      minIntervalMs: options.minIntervalMs,
      backoffMs: options.backoffMs,
    });
    return { recorded, ...health };
  });
}
