import { type Bus, connectBus } from '@batchline/bus';
import { BatchStatus } from '@batchline/domain';
import { createServiceRegistry, type Registry } from '@batchline/metrics';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  sampleStatusChangedEvent,
  silentLogger,
  testNamespace,
  testNatsUrl,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerSystemGauges } from '../src/system-gauges.ts';

/** The installation-wide gauges the chart's alert rules read, against a real JetStream and Postgres. */
describe('the system gauges', () => {
  let db: MigratedTestDatabase;
  let bus: Bus;
  let registry: Registry;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_system_gauges');
    bus = await connectBus({
      servers: [testNatsUrl()],
      name: 'monitor-gauges-test',
      namespace: testNamespace('gauges'),
      log: silentLogger,
    });
    await bus.ensureTopology();
    registry = createServiceRegistry('monitor');
    registerSystemGauges(registry, { pool: db.pool, bus });
  });
  afterAll(async () => {
    await bus?.deleteTopology();
    await bus?.drain();
    await db?.close();
  });

  const values = async (name: string) =>
    (await registry.getSingleMetric(name)!.get()).values.map((v) => ({ labels: v.labels, value: v.value }));

  it('reads nothing pending, no dead letter, no pause and no pending batch on an idle installation', async () => {
    expect(await values('batchline_consumer_pending_messages')).toContainEqual({
      labels: { stream: 'BATCH_STATUS', consumer: 'fetcher' },
      value: 0,
    });
    expect(await values('batchline_dead_letters')).toEqual([{ labels: {}, value: 0 }]);
    expect(await values('batchline_provider_paused')).toEqual([
      { labels: { provider: 'openai', kind: 'none' }, value: 0 },
      { labels: { provider: 'anthropic', kind: 'none' }, value: 0 },
    ]);
    expect((await values('batchline_oldest_pending_batch_age_seconds')).map((v) => v.value)).toEqual([0, 0]);
  });

  it('reports a consumer backlog, kept dead letters, a paused provider and the oldest pending batches', async () => {
    for (const id of [1, 2, 3]) {
      await bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `gauge:${id}` });
    }
    await bus.publishRaw('dlq.batch.finalized', new TextEncoder().encode('{}'), 'gauge:dead');
    await db.pool.query(`INSERT INTO provider_pauses (provider, kind, needs_probe, paused_until, reason)
      VALUES ('anthropic', 'rate_limited', false, now() + interval '1 minute', 'test')`);
    await db.pool.query(
      `INSERT INTO batch_jobs_vp_logs (batch_id, provider, status, created_at, provider_terminal_at) VALUES
         ('old', 'openai', ${BatchStatus.pending}, now() - interval '2 hours', NULL),
         ('ended', 'openai', ${BatchStatus.pending}, now() - interval '3 hours', now() - interval '10 minutes'),
         ('done', 'openai', ${BatchStatus.completed}, now() - interval '9 hours', now() - interval '8 hours')`,
    );
    // The reading of the bus is shared for a second between gauges; wait it out.
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    expect(await values('batchline_consumer_pending_messages')).toContainEqual({
      labels: { stream: 'BATCH_STATUS', consumer: 'fetcher' },
      value: 3,
    });
    expect(await values('batchline_dead_letters')).toEqual([{ labels: {}, value: 1 }]);
    expect(await values('batchline_provider_paused')).toEqual([
      { labels: { provider: 'openai', kind: 'none' }, value: 0 },
      { labels: { provider: 'anthropic', kind: 'rate_limited' }, value: 1 },
    ]);
    const ages = Object.fromEntries(
      (await values('batchline_oldest_pending_batch_age_seconds')).map((v) => [v.labels.stage, v.value]),
    );
    expect(ages.at_provider).toBeGreaterThanOrEqual(7_200);
    expect(ages.at_provider).toBeLessThan(7_300);
    expect(ages.landing).toBeGreaterThanOrEqual(600);
    expect(ages.landing).toBeLessThan(700);
  });
});
