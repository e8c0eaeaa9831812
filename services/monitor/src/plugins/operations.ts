import type { Pool } from '@batchline/db';
import type { FastifyInstance } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { MonitorMetrics } from '../metrics.ts';

export interface OperationsOptions {
  pool: Pool;
  metrics: MonitorMetrics;
  /** Readiness of what the app does not own (e.g. the bus), next to its own Postgres check. */
  readiness?: (() => Record<string, boolean>) | undefined;
}

/**
 * What operators and orchestrators read: `/healthz`, `/readyz`, `/metrics`, and the request metrics of every
 * answer (so it is not encapsulated, and registered before the routes it counts).
 */
async function operations(
  app: FastifyInstance,
  { pool, metrics, readiness }: OperationsOptions,
): Promise<void> {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const postgres = await pool.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const checks = { postgres, ...readiness?.() };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}

export const operationsPlugin = fastifyPlugin(operations, { name: 'monitor-operations' });
