import { randomUUID } from 'node:crypto';
import { countBatchesByState, type Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import { builtInJobTypes, type JobTypeSet } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import type { BatchProvider } from '@batchline/providers';
import Fastify, { type FastifyInstance } from 'fastify';
import { AdminGuard } from './admin-guard.ts';
import type { Pricing } from './figures.ts';
import { createMonitorMetrics, type MonitorMetrics } from './metrics.ts';
import { adminApiPlugin } from './plugins/admin-api.ts';
import { apiDocsPlugin } from './plugins/api-docs.ts';
import { dashboardPlugin } from './plugins/dashboard.ts';
import { operationsPlugin } from './plugins/operations.ts';
import {
  REQUEST_INTAKE_PATH,
  type RequestIntakeOptions,
  requestIntakeRoutes,
} from './plugins/request-intake-routes.ts';
import { securityPlugin } from './plugins/security.ts';

export interface MonitorAppDeps {
  pool: Pool;
  log: Logger;
  /** Adapters the retry and cancel actions go through, by provider name. */
  providers: Partial<Record<ProviderName, BatchProvider>>;
  /** ADMIN_TOKENS (may act) and ADMIN_READONLY_TOKENS (may only read). */
  operatorTokens: readonly string[];
  readerTokens: readonly string[];
  pricing: Pricing;
  /** The job types in force (BATCHLINE_JOB_TYPES); the built-in ones when not given. */
  jobTypes?: JobTypeSet;
  /** First status check of a batch the monitor submits (a retry): the first POLL_SCHEDULE step. */
  firstPollDelayMs: number;
  /** The built dashboard (`index.html` and `assets/`); null serves the API alone. */
  dashboardDir: string | null;
  /** Requests per token (and, unauthenticated, per address) in a sliding window; 60 a minute by default. */
  rateLimit?: { limit: number; windowMs: number };
  /** Readiness of what the app does not own (e.g. the bus), next to its own Postgres check. */
  readiness?: () => Record<string, boolean>;
  metrics?: MonitorMetrics;
  /** `POST /api/admin/requests` (the batcher's intake); absent: the route is not served. */
  requestIntake?: Omit<RequestIntakeOptions, 'guard' | 'pool'>;
  /** Clock of the rate limiter (tests). */
  now?: () => number;
}

export const ADMIN_PREFIX = '/api/admin/batch-monitoring';
const DEFAULT_RATE_LIMIT = { limit: 60, windowMs: 60_000 };
const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * The monitor's HTTP app: the admin API under `/api/admin/batch-monitoring` (bearer tokens, rate limit, audit
 * log, strict validation — docs/interface.md §7), the dashboard at `/`, and `/healthz`, `/readyz`, `/metrics`. The
 * plugins that act on every answer (security, operations) come first, so that their hooks reach every route.
 */
export async function buildApp(deps: MonitorAppDeps): Promise<FastifyInstance> {
  const { pool, log } = deps;
  const jobTypes = deps.jobTypes ?? builtInJobTypes();
  const metrics = deps.metrics ?? createMonitorMetrics(() => countBatchesByState(pool));
  const guard = new AdminGuard({
    operatorTokens: deps.operatorTokens,
    readerTokens: deps.readerTokens,
    rateLimit: deps.rateLimit ?? DEFAULT_RATE_LIMIT,
    now: deps.now,
  });
  if (!guard.configured) log.warn('ADMIN_TOKENS is empty: the admin API refuses every request');

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  await app.register(securityPlugin, { pool, log, metrics, guard });
  await app.register(operationsPlugin, { pool, metrics, readiness: deps.readiness });
  await app.register(adminApiPlugin, {
    prefix: ADMIN_PREFIX,
    guard,
    pricing: deps.pricing,
    jobTypes,
    actions: {
      pool,
      log,
      metrics,
      providers: deps.providers,
      firstPollDelayMs: deps.firstPollDelayMs,
      jobTypes,
    },
  });
  await app.register(apiDocsPlugin, { adminPrefix: ADMIN_PREFIX });
  if (deps.requestIntake) {
    await app.register(requestIntakeRoutes, {
      prefix: REQUEST_INTAKE_PATH,
      guard,
      pool,
      ...deps.requestIntake,
    });
  }
  if (deps.dashboardDir !== null) await app.register(dashboardPlugin, { root: deps.dashboardDir });
  return app;
}
