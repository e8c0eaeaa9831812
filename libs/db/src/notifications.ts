import { redactSecretsIn } from '@batchline/logging';
import type { Queryable } from './pool.ts';

/** `sending`: claimed, outcome unknown (a crash mid-send leaves it so); the others are final. */
export type NotificationState = 'sending' | 'sent' | 'logged' | 'failed';

export interface NotificationClaim {
  state: NotificationState;
  /** Send attempts started, this one included when `state` is `sending`. */
  attempts: number;
  /** True when this claim created the row (the first time this event is seen). */
  created: boolean;
}

/**
 * Claims the right to send the message announcing `eventKey`. A new event gets a row in state `sending`; an
 * event still `sending` (a previous attempt did not finish) counts one more attempt; an event whose message was
 * sent, logged or failed for good is returned as it is, so a redelivered event never posts twice.
 */
export async function claimNotification(
  db: Queryable,
  {
    eventKey,
    kind,
    batchLogId,
    text,
  }: { eventKey: string; kind: string; batchLogId: number | null; text: string },
): Promise<NotificationClaim> {
  const claimed = await db.query<{ state: NotificationState; attempts: number; created: boolean }>(
    `INSERT INTO notifications (event_key, kind, batch_log_id, state, attempts, text)
     VALUES ($1, $2, $3, 'sending', 1, $4)
     ON CONFLICT (event_key) DO UPDATE SET attempts = notifications.attempts + 1
       WHERE notifications.state = 'sending'
     RETURNING state, attempts, (xmax = 0) AS created`,
    [eventKey, kind, batchLogId, text],
  );
  if (claimed.rows[0]) return claimed.rows[0];
  const existing = await db.query<{ state: NotificationState; attempts: number }>(
    'SELECT state, attempts FROM notifications WHERE event_key = $1',
    [eventKey],
  );
  return { ...existing.rows[0]!, created: false };
}

/**
 * Records how a claimed send ended. Only a `sending` row changes, so a late or repeated completion cannot
 * overwrite an outcome. The error text is stored with secrets masked.
 */
export async function completeNotification(
  db: Queryable,
  eventKey: string,
  state: Exclude<NotificationState, 'sending'>,
  error?: string,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE notifications
     SET state = $2, last_error = $3, sent_at = CASE WHEN $2 IN ('sent', 'logged') THEN now() END
     WHERE event_key = $1 AND state = 'sending'`,
    [eventKey, state, error === undefined ? null : redactSecretsIn(error)],
  );
  return result.rowCount === 1;
}

/** Stamps that the batch's final message went out; only the first call has an effect (returns true). */
export async function markFinalNotified(db: Queryable, batchLogId: number): Promise<boolean> {
  const result = await db.query(
    'UPDATE batch_jobs_vp_logs SET final_notified_at = now() WHERE id = $1 AND final_notified_at IS NULL',
    [batchLogId],
  );
  return result.rowCount === 1;
}
