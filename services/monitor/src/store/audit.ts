import type { Queryable } from '@batchline/db';

/** How an audited request ended. `started`: an action whose provider call follows (its outcome is a second row). */
export type AuditOutcome = 'success' | 'started' | 'failed' | 'denied' | 'invalid' | 'rate_limited';

/** One row of `audit_log`: who (a token label, never a token), did what, to what, and how it ended. */
export interface AuditRecord {
  actor: string;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  statusCode?: number | null;
  requestId?: string | null;
  clientIp?: string | null;
  method?: string | null;
  /** The route pattern (never the raw URL, whose query string may carry anything). */
  route?: string | null;
  details?: Record<string, unknown> | null;
}

/**
 * Appends an audit record; pass the transaction's client to make it part of the action it records, so that an
 * action whose audit row cannot be written does not happen. Returns the record's id.
 */
export async function appendAuditRecord(db: Queryable, record: AuditRecord): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO audit_log (actor, action, target, outcome, status_code, request_id, client_ip, method, route, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
     RETURNING id`,
    [
      record.actor,
      record.action,
      record.target ?? null,
      record.outcome,
      record.statusCode ?? null,
      record.requestId ?? null,
      record.clientIp ?? null,
      record.method ?? null,
      record.route ?? null,
      record.details === undefined || record.details === null ? null : JSON.stringify(record.details),
    ],
  );
  return Number(rows[0]!.id);
}
