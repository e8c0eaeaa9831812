import type { Queryable } from '@batchline/db';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import type { Principal } from './auth.ts';
import { type AuditOutcome, type AuditRecord, appendAuditRecord } from './store/audit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for admin API requests: who asked, and whether the outcome has been audited. */
    monitorContext: RequestContext | null;
  }
  interface FastifyContextConfig {
    /** The audit log's name for what the route does, e.g. `batch.retry`. */
    action?: string;
  }
}

/**
 * What the audit log needs of one admin request. `audited` is set once a record of the request's outcome has
 * been committed, so that the error handler does not write a second one.
 */
export interface RequestContext {
  principal: Principal | null;
  requestId: string;
  /** Null for a command run on this machine (`batchline cancel`...). */
  clientIp: string | null;
  /** `CLI` for a command. */
  method: string;
  /** The route pattern, e.g. `/api/admin/batch-monitoring/:id/retry` (never the raw URL), or `batchline <command>`. */
  route: string;
  audited: boolean;
}

/** A request's context before authentication: nobody yet, nothing audited. */
export const requestContextOf = (request: FastifyRequest): RequestContext => ({
  principal: null,
  requestId: request.id,
  clientIp: request.ip,
  method: request.method,
  route: request.routeOptions.url ?? request.url.split('?')[0]!.slice(0, 200),
  audited: false,
});

export interface AuditEntry {
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  statusCode?: number | null;
  details?: Record<string, unknown> | null;
}

const auditRecordOf = (context: RequestContext, entry: AuditEntry): AuditRecord => ({
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

/** Records a successful read; a read whose audit record cannot be written is refused. */
export async function auditRead(
  db: Queryable,
  context: RequestContext,
  action: string,
  details: Record<string, unknown>,
): Promise<void> {
  await audit(db, context, { action, outcome: 'success', statusCode: 200, details });
  context.audited = true;
}
