import type { Queryable } from './pool.ts';

/** An event to publish once the transaction that wrote it commits. */
export interface OutboxEvent {
  /** Subject without the deployment's namespace prefix, e.g. `batch.finalized`. */
  subject: string;
  /** Deterministic per logical event: the relay publishes it as `Nats-Msg-Id`, and it dedupes the outbox itself. */
  msgId: string;
  payload: unknown;
  /** Message headers, e.g. the W3C `traceparent` of the work that produced the event. */
  headers?: Record<string, string>;
}

/**
 * Writes an event to the outbox, normally inside the transaction of the state change it announces. Returns
 * false when an event with the same `msgId` is already there (it is not written twice).
 */
export async function enqueueOutbox(db: Queryable, event: OutboxEvent): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO outbox (subject, msg_id, payload, headers) VALUES ($1, $2, $3::jsonb, $4::jsonb)
     ON CONFLICT (msg_id) DO NOTHING`,
    [event.subject, event.msgId, JSON.stringify(event.payload), JSON.stringify(event.headers ?? {})],
  );
  return result.rowCount === 1;
}
