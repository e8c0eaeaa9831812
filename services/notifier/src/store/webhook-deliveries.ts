import { enqueueOutbox, type Pool, type Queryable, withTransaction } from '@batchline/db';
import type { OpsErrorMessage } from '@batchline/events';
import type { WebhookEventName } from '@batchline/job-types';

/** States of a delivery (migration 0015): `pending` until a 2xx (`delivered`) or its last attempt (`failed`). */
export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface NewDelivery {
  eventId: string;
  subject: WebhookEventName;
  /** The endpoint's name (the variable holding its URL) and a hash of the URL, never the URL. */
  endpoint: string;
  urlHash: string;
  jobType: string | null;
  body: string;
}

/** Records one event's delivery to one endpoint; false when it was recorded before (redelivery, replay). */
export async function recordDelivery(db: Queryable, delivery: NewDelivery): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO webhook_deliveries (event_id, subject, endpoint, url_hash, job_type, body)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id, endpoint) DO NOTHING`,
    [
      delivery.eventId,
      delivery.subject,
      delivery.endpoint,
      delivery.urlHash,
      delivery.jobType,
      delivery.body,
    ],
  );
  return result.rowCount === 1;
}

/** A delivery handed to one deliverer for one attempt. */
export interface ClaimedDelivery {
  id: number;
  eventId: string;
  subject: WebhookEventName;
  endpoint: string;
  body: string;
  /** Attempts started, this one included. */
  attempts: number;
}

/**
 * Claims due deliveries for one attempt each: leased to `owner` for `leaseMs` (longer than a POST may take), so
 * no other deliverer, in this process or another replica, attempts the same one meanwhile; a deliverer that died
 * mid-attempt leaves a lease that runs out, and the delivery is attempted again.
 */
export async function claimDueDeliveries(
  db: Queryable,
  options: { owner: string; leaseMs: number; limit: number },
): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<{
    id: string;
    event_id: string;
    subject: WebhookEventName;
    endpoint: string;
    body: string;
    attempts: number;
  }>(
    `UPDATE webhook_deliveries
     SET attempts = attempts + 1, leased_by = $1, lease_until = now() + $2 * interval '1 millisecond',
         updated_at = now()
     WHERE id IN (
       SELECT id FROM webhook_deliveries
       WHERE state = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until <= now())
       ORDER BY next_attempt_at, id
       LIMIT $3
       FOR UPDATE SKIP LOCKED)
     RETURNING id, event_id, subject, endpoint, body, attempts`,
    [options.owner, options.leaseMs, options.limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    eventId: row.event_id,
    subject: row.subject,
    endpoint: row.endpoint,
    body: row.body,
    attempts: row.attempts,
  }));
}

/** Marks a claimed delivery delivered; false when this deliverer no longer holds it. */
export async function markDelivered(
  db: Queryable,
  claim: { id: number; owner: string; status: number },
): Promise<boolean> {
  const result = await db.query(
    `UPDATE webhook_deliveries
     SET state = 'delivered', delivered_at = now(), last_status = $3, last_error = NULL, leased_by = NULL,
         lease_until = NULL, updated_at = now()
     WHERE id = $1 AND leased_by = $2 AND state = 'pending'`,
    [claim.id, claim.owner, claim.status],
  );
  return result.rowCount === 1;
}

export interface FailedAttempt {
  id: number;
  owner: string;
  status: number | null;
  error: string;
  /** When to try again; null: that was the last attempt, the delivery fails and `giveUp` is announced. */
  retryInMs: number | null;
  giveUp: OpsErrorMessage | null;
}

/**
 * Records a failed attempt: the next one scheduled (by the database clock), or the delivery failed together
 * with its `ops.error` in the outbox, in one transaction. False when this deliverer no longer holds it.
 */
export async function markAttemptFailed(pool: Pool, attempt: FailedAttempt): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const final = attempt.retryInMs === null;
    const result = await client.query(
      `UPDATE webhook_deliveries
       SET state = CASE WHEN $5 THEN 'failed' ELSE 'pending' END,
           failed_at = CASE WHEN $5 THEN now() END,
           next_attempt_at = now() + COALESCE($6, 0) * interval '1 millisecond',
           last_status = $3, last_error = $4, leased_by = NULL, lease_until = NULL, updated_at = now()
       WHERE id = $1 AND leased_by = $2 AND state = 'pending'`,
      [attempt.id, attempt.owner, attempt.status, attempt.error, final, attempt.retryInMs],
    );
    if (result.rowCount !== 1) return false;
    if (attempt.giveUp) {
      const { subject, msgId, payload } = attempt.giveUp;
      await enqueueOutbox(client, { subject, msgId, payload });
    }
    return true;
  });
}

/** One delivery as `batchline webhooks` lists it. */
export interface DeliveryRecord {
  eventId: string;
  endpoint: string;
  jobType: string | null;
  state: DeliveryState;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  failedAt: Date | null;
  createdAt: Date;
}

/** The most recent deliveries, newest first, optionally of one state. */
export async function listDeliveries(
  db: Queryable,
  filter: { state?: DeliveryState; limit: number },
): Promise<DeliveryRecord[]> {
  const { rows } = await db.query<{
    event_id: string;
    endpoint: string;
    job_type: string | null;
    state: DeliveryState;
    attempts: number;
    last_status: number | null;
    last_error: string | null;
    next_attempt_at: Date;
    delivered_at: Date | null;
    failed_at: Date | null;
    created_at: Date;
  }>(
    `SELECT event_id, endpoint, job_type, state, attempts, last_status, last_error, next_attempt_at,
            delivered_at, failed_at, created_at
     FROM webhook_deliveries
     WHERE $1::text IS NULL OR state = $1
     ORDER BY created_at DESC, id DESC
     LIMIT $2`,
    [filter.state ?? null, filter.limit],
  );
  return rows.map((row) => ({
    eventId: row.event_id,
    endpoint: row.endpoint,
    jobType: row.job_type,
    state: row.state,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    nextAttemptAt: row.state === 'pending' ? row.next_attempt_at : null,
    deliveredAt: row.delivered_at,
    failedAt: row.failed_at,
    createdAt: row.created_at,
  }));
}
