import type { Pool } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { AdminGuard } from '../admin-guard.ts';
import { ApiError, auditOutcomeOf, toApiError } from '../api-error.ts';
import type { MonitorMetrics } from '../metrics.ts';
import { audit } from '../request-context.ts';

export interface SecurityOptions {
  pool: Pool;
  log: Logger;
  metrics: MonitorMetrics;
  guard: AdminGuard;
}

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Writes the audit record of an error answer; a failure to do so is counted and logged, not answered. */
async function auditError(
  { pool, log, metrics }: SecurityOptions,
  request: FastifyRequest,
  answer: ApiError,
): Promise<void> {
  const context = request.monitorContext;
  if (!context || context.audited) return;
  context.audited = true;
  await audit(pool, context, {
    action: request.routeOptions.config?.action ?? 'unknown',
    target: (request.params as { id?: string } | undefined)?.id?.slice(0, 32) ?? null,
    outcome: auditOutcomeOf(answer.status),
    statusCode: answer.status,
    details: { code: answer.code, field: answer.field },
  }).catch((error: unknown) => {
    metrics.auditFailures.inc();
    log.error({ err: error }, 'audit record of a refused request not written');
  });
}

/**
 * What every answer of the app goes through (it is not encapsulated): security headers, the admin API's error
 * shape with an audit record of every refused admin request, and a 404 that reveals nothing of the admin API
 * without a valid token.
 */
async function security(app: FastifyInstance, options: SecurityOptions): Promise<void> {
  const { log, metrics, guard } = options;
  app.decorateRequest('monitorContext', null);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    return payload;
  });

  app.setErrorHandler(async (error, request, reply) => {
    const answer = toApiError(error, log);
    if (answer.code === 'audit_unavailable') {
      metrics.auditFailures.inc();
      log.error({ err: answer.cause }, 'audit record not written; request refused');
    }
    await auditError(options, request, answer);
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (request.url.startsWith('/api/')) {
      // Unknown admin routes answer like known ones: nothing is revealed without a valid token.
      guard.authenticate(request, reply);
      throw new ApiError(404, 'not_found', 'no such route');
    }
    return reply.code(404).type('text/plain').send('not found');
  });
}

export const securityPlugin = fastifyPlugin(security, { name: 'monitor-security' });
