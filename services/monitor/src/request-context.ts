import { type AuditOutcome, type AuditRecord, appendAuditRecord, type Queryable } from '@batchline/db';
import { ApiError } from './api-error.ts';
import type { Principal } from './auth.ts';

/**
 * What the audit log needs of one admin request. `audited` is set once a record of the request's outcome has
 * been committed, so that the error handler does not write a second one.
 */
export interface RequestContext {
  principal: Principal | null;
  requestId: string;
  clientIp: string;
  method: string;
  /** The route pattern, e.g. `/api/admin/batch-monitoring/:id/retry` (never the raw URL). */
  route: string;
  audited: boolean;
}

export interface AuditEntry {
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  statusCode?: number | null;
  details?: Record<string, unknown> | null;
}

export const auditRecordOf = (context: RequestContext, entry: AuditEntry): AuditRecord => ({
  actor: context.principal?.actor ?? 'anonymous',
  action: entry.action,
  target: entry.target ?? null,
  outcome: entry.outcome,
  statusCode: entry.statusCode ?? null,
  requestId: context.requestId,
  clientIp: context.clientIp,
  method: context.method,
  route: context.route,
  details: entry.details ?? null,
});

/**
 * Appends the request's audit record on `db` (pass a transaction's client to make it part of that transaction).
 * A record that cannot be written refuses the request: 503 `audit_unavailable`, and the transaction rolls back.
 */
export async function audit(db: Queryable, context: RequestContext, entry: AuditEntry): Promise<void> {
  try {
    await appendAuditRecord(db, auditRecordOf(context, entry));
  } catch (error) {
    throw new ApiError(
      503,
      'audit_unavailable',
      'the audit log cannot be written, so the request was refused',
      null,
      {},
      {},
      error,
    );
  }
}
