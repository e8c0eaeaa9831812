import { randomUUID } from 'node:crypto';
import {
  type AlertConfig,
  type AlertConfigChange,
  countBatchesByState,
  getAlertConfig,
  getMonitoredJob,
  getPollingState,
  listRecentAlerts,
  type PollingState,
  type Pool,
  type RaisedAlert,
  readMonitoringSnapshot,
  updateAlertConfig,
  withTransaction,
} from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import type { Logger } from '@batchline/logging';
import type { BatchProvider } from '@batchline/providers';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type ActionDeps, cancelBatch, retryFailedRequests, setPolling, setPriority } from './actions.ts';
import { ApiError } from './api-error.ts';
import { TokenVerifier } from './auth.ts';
import { assertDashboardBuilt } from './dashboard-assets.ts';
import { computeFigures, jobView, type Pricing, TIME_RANGES } from './figures.ts';
import { createMonitorMetrics, type MonitorMetrics } from './metrics.ts';
import { RateLimiter } from './rate-limit.ts';
import { audit, type RequestContext } from './request-context.ts';
import {
  AlertSettingsSchema,
  EmptyBodySchema,
  MonitoringQuerySchema,
  PrioritySchema,
  parseBatchLogId,
  parseBody,
  parseQuery,
} from './validation.ts';

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

export interface MonitorAppDeps {
  pool: Pool;
  log: Logger;
  /** Adapters the retry and cancel actions go through, by provider name. */
  providers: Partial<Record<ProviderName, BatchProvider>>;
  /** ADMIN_TOKENS (may act) and ADMIN_READONLY_TOKENS (may only read). */
  operatorTokens: readonly string[];
  readerTokens: readonly string[];
  pricing: Pricing;
  /** First status check of a batch the monitor submits (a retry): the first POLL_SCHEDULE step. */
  firstPollDelayMs: number;
  /** The built dashboard (`index.html` and `assets/`); null serves the API alone. */
  dashboardDir: string | null;
  /** Requests per token (and, unauthenticated, per address) in a sliding window; 60 a minute by default. */
  rateLimit?: { limit: number; windowMs: number };
  /** Readiness of what the app does not own (e.g. the bus), next to its own Postgres check. */
  readiness?: () => Record<string, boolean>;
  metrics?: MonitorMetrics;
  /** Clock of the rate limiter (tests). */
  now?: () => number;
}

export const ADMIN_PREFIX = '/api/admin/batch-monitoring';
const DEFAULT_RATE_LIMIT = { limit: 60, windowMs: 60_000 };
const BODY_LIMIT_BYTES = 16 * 1024;
const RECENT_ALERTS = 20;

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

/** How an error answer is recorded in the audit log. */
function auditOutcomeOf(status: number) {
  if (status === 401 || status === 403) return 'denied' as const;
  if (status === 429) return 'rate_limited' as const;
  if (status === 400 || status === 413 || status === 415) return 'invalid' as const;
  return 'failed' as const;
}

const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'the body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'send the body as application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'invalid_body',
    message: 'the body is empty: send {} or no Content-Type',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_body', message: 'the body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'invalid_body',
    message: 'Content-Length does not match the body',
  },
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_url', message: 'the URL is malformed' },
};

/** Any error as an answer: our own as they are, the framework's client errors named, everything else a 500. */
function toApiError(error: unknown, log: Logger): ApiError {
  if (error instanceof ApiError) return error;
  const { code, statusCode } = (error ?? {}) as { code?: string; statusCode?: number };
  const known = code === undefined ? undefined : FASTIFY_ERRORS[code];
  if (known) {
    const field = known.status === 400 && code !== 'FST_ERR_BAD_URL' ? '(body)' : null;
    return new ApiError(known.status, known.code, known.message, field);
  }
  if (error instanceof SyntaxError && statusCode === 400) {
    return new ApiError(400, 'invalid_body', 'the body is not valid JSON', '(body)');
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ApiError(statusCode, 'bad_request', 'the request cannot be processed');
  }
  log.error({ err: error }, 'admin API request failed');
  return new ApiError(500, 'internal_error', 'the monitor failed to answer; its log says why');
}

const alertRulesView = (config: AlertConfig) => ({
  errorRateThreshold: config.errorRatePercent,
  processingTimeThreshold: config.processingTimeMs,
  throughputThreshold: config.minJobsPerHour,
  stuckBatchThreshold: config.stuckBatchMs,
  batchFailureThreshold: config.failedBatches,
  notificationChannels: config.channels,
  alertSuppression: config.suppressionMs,
  evaluationWindow: config.evaluationWindowMs,
  updatedAt: config.updatedAt.toISOString(),
  updatedBy: config.updatedBy,
});

const alertView = (alert: RaisedAlert) => ({
  id: alert.id,
  condition: alert.condition,
  severity: alert.severity,
  message: alert.message,
  value: alert.value,
  threshold: alert.threshold,
  batchLogIds: alert.batchLogIds,
  channels: alert.channels,
  raisedAt: alert.raisedAt.toISOString(),
});

const pollingView = (polling: PollingState) => ({
  paused: polling.paused,
  changedAt: polling.changedAt.toISOString(),
  changedBy: polling.changedBy,
  pausedBatches: polling.pausedBatches,
});

/**
 * The monitor's HTTP app: the admin API under `/api/admin/batch-monitoring` (bearer tokens, rate limit, audit
 * log, strict validation — contract §7), the dashboard at `/`, and `/healthz`, `/readyz`, `/metrics`.
 */
export async function buildApp(deps: MonitorAppDeps): Promise<FastifyInstance> {
  const { pool, log, pricing } = deps;
  if (deps.dashboardDir !== null) await assertDashboardBuilt(deps.dashboardDir);
  const metrics = deps.metrics ?? createMonitorMetrics(() => countBatchesByState(pool));
  const verifier = new TokenVerifier(deps.operatorTokens, deps.readerTokens);
  if (!verifier.configured) log.warn('ADMIN_TOKENS is empty: the admin API refuses every request');
  const { limit, windowMs } = deps.rateLimit ?? DEFAULT_RATE_LIMIT;
  const limiter = new RateLimiter(limit, windowMs, deps.now);
  const actionDeps: ActionDeps = {
    pool,
    log,
    metrics,
    providers: deps.providers,
    firstPollDelayMs: deps.firstPollDelayMs,
  };

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  app.decorateRequest('monitorContext', null);

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  /** Writes the audit record of an error answer; a failure to do so is counted and logged, not answered. */
  const auditError = async (request: FastifyRequest, answer: ApiError) => {
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
  };

  app.setErrorHandler(async (error, request, reply) => {
    const answer = toApiError(error, log);
    if (answer.code === 'audit_unavailable') {
      metrics.auditFailures.inc();
      log.error({ err: answer.cause }, 'audit record not written; request refused');
    }
    await auditError(request, answer);
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });

  const contextOf = (request: FastifyRequest): RequestContext => ({
    principal: null,
    requestId: request.id,
    clientIp: request.ip,
    method: request.method,
    route: request.routeOptions.url ?? request.url.split('?')[0]!.slice(0, 200),
    audited: false,
  });

  const tooManyRequests = (retryAfterMs: number) => {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new ApiError(
      429,
      'rate_limited',
      `more than ${limit} requests in ${windowMs / 1000} s; retry after ${seconds} s`,
      null,
      { 'retry-after': String(seconds) },
    );
  };

  /** Authenticates and rate-limits an admin request; throws the 401 or 429 answer. */
  const authenticate = (request: FastifyRequest, reply: FastifyReply): RequestContext => {
    const context = contextOf(request);
    request.monitorContext = context;
    const verdict = verifier.verify(request.headers.authorization);
    if (typeof verdict === 'string') {
      // Failed attempts are limited per address, so tokens cannot be guessed at speed.
      const decision = limiter.take(`address:${request.ip}`);
      if (!decision.allowed) throw tooManyRequests(decision.retryAfterMs);
      throw new ApiError(
        401,
        'unauthorized',
        verdict === 'none_configured'
          ? 'the admin API accepts no token until ADMIN_TOKENS is set'
          : 'a valid bearer token is required (Authorization: Bearer <token>)',
        null,
        { 'www-authenticate': 'Bearer realm="batchline-monitor"' },
      );
    }
    context.principal = verdict;
    const decision = limiter.take(`token:${verdict.actor}`);
    reply.header('x-ratelimit-limit', String(limit));
    reply.header('x-ratelimit-remaining', String(decision.remaining));
    if (!decision.allowed) throw tooManyRequests(decision.retryAfterMs);
    return context;
  };

  const requireOperator = (context: RequestContext) => {
    if (context.principal?.role !== 'operator') {
      throw new ApiError(403, 'forbidden', 'this token may only read; acting needs one of ADMIN_TOKENS');
    }
  };

  /** Records a successful read; a read whose audit record cannot be written is refused. */
  const auditRead = async (context: RequestContext, action: string, details: Record<string, unknown>) => {
    await audit(pool, context, { action, outcome: 'success', statusCode: 200, details });
    context.audited = true;
  };

  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request, reply) => {
        authenticate(request, reply);
      });
      admin.addHook('onSend', async (_request, reply, payload) => {
        reply.header('cache-control', 'no-store');
        return payload;
      });

      admin.get('/', { config: { action: 'monitoring.read' } }, async (request) => {
        const context = request.monitorContext!;
        const query = parseQuery(MonitoringQuerySchema, request.query);
        const { rangeMs, bucketMs } = TIME_RANGES[query.timeRange];
        const snapshot = await readMonitoringSnapshot(
          pool,
          { rangeMs, jobType: query.jobType, state: query.status },
          { bucketMs, limit: query.limit, offset: (query.page - 1) * query.limit },
        );
        const figures = computeFigures({
          groups: snapshot.groups,
          liveQueues: snapshot.liveQueues,
          state: query.status,
          rangeMs,
          bucketMs,
          from: snapshot.from,
          to: snapshot.to,
          pricing,
        });
        await auditRead(context, 'monitoring.read', { ...query });
        return {
          success: true,
          data: {
            summary: figures.summary,
            queues: figures.queues,
            performance: figures.performance,
            jobs: snapshot.jobs.map((job) => jobView(job, pricing, query.includeDetails)),
            historical: figures.historical,
            pagination: {
              page: query.page,
              limit: query.limit,
              total: figures.jobsInScope,
              totalPages: Math.ceil(figures.jobsInScope / query.limit),
            },
            polling: pollingView(snapshot.polling),
            window: {
              timeRange: query.timeRange,
              from: snapshot.from.toISOString(),
              to: snapshot.to.toISOString(),
              bucketMs,
            },
          },
        };
      });

      admin.get('/alerts', { config: { action: 'alerts.read' } }, async (request) => {
        parseQuery(EmptyBodySchema, request.query);
        const [config, recent] = [await getAlertConfig(pool), await listRecentAlerts(pool, RECENT_ALERTS)];
        await auditRead(request.monitorContext!, 'alerts.read', {});
        return { success: true, data: { rules: alertRulesView(config), recent: recent.map(alertView) } };
      });

      admin.post('/alerts', { config: { action: 'alerts.update' } }, async (request) => {
        const context = request.monitorContext!;
        requireOperator(context);
        const settings = parseBody(AlertSettingsSchema, request.body);
        const change: AlertConfigChange = {
          errorRatePercent: settings.errorRateThreshold,
          processingTimeMs: settings.processingTimeThreshold,
          minJobsPerHour: settings.throughputThreshold,
          stuckBatchMs: settings.stuckBatchThreshold,
          failedBatches: settings.batchFailureThreshold,
          channels: settings.notificationChannels,
          suppressionMs: settings.alertSuppression,
          evaluationWindowMs: settings.evaluationWindow,
        };
        const config = await withTransaction(pool, async (client) => {
          const updated = await updateAlertConfig(client, change, context.principal!.actor);
          await audit(client, context, {
            action: 'alerts.update',
            target: 'alerts',
            outcome: 'success',
            statusCode: 200,
            details: settings,
          });
          return updated;
        });
        context.audited = true;
        metrics.actions.inc({ action: 'alerts', outcome: 'success' });
        return { success: true, data: { rules: alertRulesView(config) } };
      });

      for (const paused of [true, false]) {
        const verb = paused ? 'pause' : 'resume';
        admin.post(`/polling/${verb}`, { config: { action: `polling.${verb}` } }, async (request) => {
          const context = request.monitorContext!;
          requireOperator(context);
          parseBody(EmptyBodySchema, request.body);
          await setPolling(actionDeps, context, paused, null);
          return { success: true, data: { polling: pollingView(await getPollingState(pool)) } };
        });
        admin.post(`/:id/${verb}`, { config: { action: `polling.${verb}` } }, async (request) => {
          const context = request.monitorContext!;
          requireOperator(context);
          const id = parseBatchLogId(request.params);
          parseBody(EmptyBodySchema, request.body);
          await setPolling(actionDeps, context, paused, id);
          return { success: true, data: { job: jobView((await getMonitoredJob(pool, id))!, pricing, true) } };
        });
      }

      admin.post('/:id/priority', { config: { action: 'batch.priority' } }, async (request) => {
        const context = request.monitorContext!;
        requireOperator(context);
        const id = parseBatchLogId(request.params);
        const { priority } = parseBody(PrioritySchema, request.body);
        await setPriority(actionDeps, context, id, priority);
        return { success: true, data: { job: jobView((await getMonitoredJob(pool, id))!, pricing, true) } };
      });

      admin.post('/:id/retry', { config: { action: 'batch.retry' } }, async (request, reply) => {
        const context = request.monitorContext!;
        requireOperator(context);
        const id = parseBatchLogId(request.params);
        parseBody(EmptyBodySchema, request.body);
        const retry = await retryFailedRequests(actionDeps, context, id);
        return reply.code(201).send({ success: true, data: retry });
      });

      admin.post('/:id/cancel', { config: { action: 'batch.cancel' } }, async (request, reply) => {
        const context = request.monitorContext!;
        requireOperator(context);
        const id = parseBatchLogId(request.params);
        parseBody(EmptyBodySchema, request.body);
        const cancelled = await cancelBatch(actionDeps, context, id);
        return reply.code(202).send({ success: true, data: cancelled });
      });
    },
    { prefix: ADMIN_PREFIX },
  );

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const postgres = await pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const checks = { postgres, ...deps.readiness?.() };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  if (deps.dashboardDir !== null) {
    await app.register(fastifyStatic, {
      root: deps.dashboardDir,
      prefix: '/',
      index: 'index.html',
      wildcard: true,
      // Built assets carry a content hash in their names; the page itself must always be fetched anew.
      setHeaders: (response, path) => {
        response.setHeader(
          'cache-control',
          path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable',
        );
      },
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    if (request.url.startsWith('/api/')) {
      // Unknown admin routes answer like known ones: nothing is revealed without a valid token.
      authenticate(request, reply);
      throw new ApiError(404, 'not_found', 'no such route');
    }
    return reply.code(404).type('text/plain').send('not found');
  });

  return app;
}
