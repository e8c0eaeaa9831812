import { readFileSync, writeFileSync } from 'node:fs';
import { builtInJobTypes } from '@batchline/job-types';
import { type MigratedTestDatabase, migratedTestDatabase, silentLogger } from '@batchline/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminGuard } from '../src/admin-guard.ts';
import { ADMIN_PREFIX } from '../src/app.ts';
import { createMonitorMetrics } from '../src/metrics.ts';
import { openApiDocument } from '../src/openapi/document.ts';
import { adminApiPlugin } from '../src/plugins/admin-api.ts';
import { REQUEST_INTAKE_PATH, requestIntakeRoutes } from '../src/plugins/request-intake-routes.ts';
import { buildTestApp, TEST_PRICING } from './support.ts';

const COMMITTED = new URL('../../../docs/openapi.json', import.meta.url);

/** `METHOD /path` with OpenAPI's `{id}` for fastify's `:id`. */
const routeKey = (method: string, url: string) =>
  `${method.toUpperCase()} ${url.replace(/:([a-z]+)/g, '{$1}')}`;

describe('the OpenAPI document of the admin API', () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;
  const document = openApiDocument(ADMIN_PREFIX);

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_openapi');
    app = await buildTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('documents exactly the routes the admin API registers', async () => {
    const registered: string[] = [];
    const probe = Fastify();
    probe.addHook('onRoute', (route) => {
      for (const method of [route.method].flat())
        if (method !== 'HEAD') registered.push(routeKey(method, route.url));
    });
    await probe.register(adminApiPlugin, {
      prefix: ADMIN_PREFIX,
      guard: new AdminGuard({ operatorTokens: [], readerTokens: [], rateLimit: { limit: 1, windowMs: 1 } }),
      pricing: TEST_PRICING,
      jobTypes: builtInJobTypes(),
      actions: {
        pool: db.pool,
        log: silentLogger,
        metrics: createMonitorMetrics(async () => ({})),
        providers: {},
        firstPollDelayMs: 60_000,
        jobTypes: builtInJobTypes(),
      },
    });
    await probe.register(requestIntakeRoutes, {
      prefix: REQUEST_INTAKE_PATH,
      guard: new AdminGuard({ operatorTokens: [], readerTokens: [], rateLimit: { limit: 1, windowMs: 1 } }),
      pool: db.pool,
      problemOf: () => null,
      publish: async () => false,
    });
    await probe.ready();
    await probe.close();
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => routeKey(method, path)),
    );
    // Fastify registers `/` under a prefix as both `prefix` and `prefix/`; the document names it once.
    const normalized = [...new Set(registered.map((key) => key.replace(/\/$/, '')))];
    expect(documented.sort()).toEqual(normalized.sort());
  });

  it('is committed as docs/openapi.json, up to date (UPDATE_OPENAPI=1 rewrites it)', () => {
    if (process.env.UPDATE_OPENAPI === '1')
      writeFileSync(COMMITTED, `${JSON.stringify(document, null, 2)}\n`);
    // Compared as JSON, so that formatting the file (biome) does not make it stale.
    expect(
      JSON.parse(readFileSync(COMMITTED, 'utf8')),
      'stale: UPDATE_OPENAPI=1 npx vitest run services/monitor/test/openapi.int.test.ts',
    ).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it('is served as JSON and as a self-contained page, without a token', async () => {
    const json = await app.inject({ method: 'GET', url: '/api/docs/openapi.json' });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toMatchObject({ openapi: '3.1.0', paths: { [`${ADMIN_PREFIX}/{id}/requests`]: {} } });
    const page = await app.inject({ method: 'GET', url: '/api/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain(`${ADMIN_PREFIX}/{id}/export`);
    // Nothing from elsewhere: no script, no stylesheet or font from a CDN.
    expect(page.body).not.toMatch(/<script|https?:\/\/(?!localhost)/);
  });

  it('describes query parameters and answers from the schemas the routes validate with', () => {
    const requests = (document.paths as Record<string, Record<string, { parameters: { name: string }[] }>>)[
      `${ADMIN_PREFIX}/{id}/requests`
    ]!.get!;
    expect(requests.parameters.map((parameter) => parameter.name)).toEqual([
      'id',
      'outcome',
      'errorCode',
      'page',
      'limit',
    ]);
    const list = JSON.stringify((document.paths as Record<string, unknown>)[ADMIN_PREFIX]);
    expect(list).toContain('batchJobs');
  });
});
