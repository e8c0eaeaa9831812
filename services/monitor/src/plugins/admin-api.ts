import type { JobTypeSet } from '@batchline/job-types';
import type { FastifyInstance } from 'fastify';
import type { ActionDeps } from '../actions/action-deps.ts';
import type { AdminGuard } from '../admin-guard.ts';
import type { Pricing } from '../figures.ts';
import { alertRoutes } from './alert-routes.ts';
import { batchActionRoutes } from './batch-action-routes.ts';
import { detailRoutes } from './detail-routes.ts';
import { monitoringRoutes } from './monitoring-routes.ts';

export interface AdminApiOptions {
  guard: AdminGuard;
  pricing: Pricing;
  /** The job types in force (an export's rows are in their target tables). */
  jobTypes: JobTypeSet;
  /** What the actions act through; its pool and metrics serve every route. */
  actions: ActionDeps;
}

/**
 * The admin API (register it under its prefix): every request authenticated and rate-limited before anything
 * else, every answer uncacheable; then the monitoring view, the alert rules, the batch actions and the reads and exports of one batch or job.
 */
export async function adminApiPlugin(
  app: FastifyInstance,
  { guard, pricing, jobTypes, actions }: AdminApiOptions,
) {
  app.addHook('onRequest', async (request, reply) => {
    guard.authenticate(request, reply);
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('cache-control', 'no-store');
    return payload;
  });
  await app.register(monitoringRoutes, { pool: actions.pool, pricing });
  await app.register(alertRoutes, { pool: actions.pool, metrics: actions.metrics });
  await app.register(batchActionRoutes, { actions, pricing });
  await app.register(detailRoutes, { pool: actions.pool, jobTypes });
}
