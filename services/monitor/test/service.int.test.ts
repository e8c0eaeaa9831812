import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subjects } from '@batchline/events';
import { type StartedService, startService } from '@batchline/runtime';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardMissingError } from '../src/dashboard-assets.ts';
import { monitorService } from '../src/service.ts';
import { asOperator, buildTestApp, failed, OPERATOR_TOKEN, seedBatch } from './support.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the monitor service (`batchline run monitor`)', () => {
  let db: MigratedTestDatabase;
  let service: StartedService;
  let base: string;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_service');
    await seedBatch(db.pool, {
      name: 'failed',
      ageMinutes: 5,
      model: 'gpt-4o-mini',
      state: 'failed',
      results: [failed('x')],
    });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    service = await startService(monitorService, {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      BATCHLINE_NAMESPACE: testNamespace('monitorsvc'),
      MONITOR_PORT: String(port),
      HEALTH_PORT: '0',
      ADMIN_TOKENS: OPERATOR_TOKEN,
      MONITOR_ALERT_INTERVAL: '100ms',
      LOG_LEVEL: 'silent',
    });
  });
  afterAll(async () => {
    await service?.context.bus.deleteTopology();
    await service?.stop();
    await db?.close();
  });

  it('serves the dashboard and the admin API on MONITOR_PORT', async () => {
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect((await fetch(`${base}${script}`)).status).toBe(200);

    expect((await fetch(`${base}/api/admin/batch-monitoring`)).status).toBe(401);
    const api = await fetch(`${base}/api/admin/batch-monitoring?timeRange=1h`, { headers: asOperator });
    expect(
      ((await api.json()) as { data: { summary: { failedJobs: number } } }).data.summary.failedJobs,
    ).toBe(1);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { postgres: true, nats: true },
    });
  });

  it('evaluates the alert rules on its schedule and publishes what it raises', async () => {
    const published = await waitFor('published alert.raised outbox rows', async () => {
      const { rows } = await db.pool.query(
        'SELECT count(*)::int AS n FROM outbox WHERE subject = $1 AND published_at IS NOT NULL',
        [Subjects.alertRaised],
      );
      return rows[0].n >= 2 && rows[0].n;
    });
    // One failed request of one, and one failed batch; then the suppression window keeps them quiet.
    expect(published).toBe(2);
    const { rows } = await db.pool.query('SELECT condition FROM alerts ORDER BY condition');
    expect(rows.map((row) => row.condition)).toEqual(['batch_failures', 'high_error_rate']);
  });

  it('refuses to serve a dashboard that was never built, saying how to build it', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'monitor-no-dashboard-'));
    try {
      const error = await buildTestApp(db.pool, { dashboardDir: empty }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DashboardMissingError);
      expect((error as Error).message).toMatch(/npm ci, or npm run build -w @batchline\/monitor/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
