import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastFirings } from '../src/create-interval.ts';
import { requestFlush, setPaused } from '../src/store/controls.ts';
import { type BatcherWorld, batcherWorld, defaultPolicy, range } from './support.ts';

const pendingCount = async (world: BatcherWorld) =>
  Number(
    (
      await world.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM batcher_requests WHERE planned_batch_id IS NULL',
      )
    ).rows[0]!.n,
  );
const oldestPending = async (world: BatcherWorld) =>
  (
    await world.pool.query<{ oldest: Date }>(
      'SELECT min(enqueued_at) AS oldest FROM batcher_requests WHERE planned_batch_id IS NULL',
    )
  ).rows[0]!.oldest;

describe('batcher triggers, duplicates and controls', () => {
  let world: BatcherWorld;
  beforeAll(async () => {
    world = await batcherWorld('batcher_triggers');
  });
  afterAll(async () => {
    await world?.close();
  });

  it('keeps a request id enqueued twice as one request', async () => {
    await world.enqueue(range(1, 10));
    await world.enqueue(range(5, 10));
    expect(await pendingCount(world)).toBe(14);
  });

  it('makes batches of BATCH_MAX_REQUESTS on size, recorded as batcher jobs with their request ids', async () => {
    await world.enqueue(range(15, 11));
    const policy = { ...defaultPolicy, maxRequests: 10 };
    const outcomes = await world.tick({ policyOf: () => policy });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded', 'recorded']);
    expect(await pendingCount(world)).toBe(5);
    const landed = await world.landings();
    expect([...landed.keys()].sort((a, b) => a - b)).toEqual(range(1, 20));
    expect([...landed.values()].every((logs) => logs.length === 1)).toBe(true);
    const { rows } = await world.pool.query(
      "SELECT origin, total_requests FROM batch_jobs WHERE origin = 'batcher' ORDER BY id",
    );
    expect(rows).toEqual([
      { origin: 'batcher', total_requests: 10 },
      { origin: 'batcher', total_requests: 10 },
    ]);
    const planned = await world.pool.query(
      "SELECT trigger, request_count, estimated_cost_usd FROM batcher_batches WHERE state = 'recorded'",
    );
    expect(planned.rows.every((row) => row.trigger === 'size' && Number(row.estimated_cost_usd) > 0)).toBe(
      true,
    );
    // The provider's batches carry the idempotency key.
    const page = await world.provider.listBatches({ limit: 10 });
    expect(
      page.batches.map((b) => (b.raw as { metadata: Record<string, string> }).metadata.batchline_key),
    ).toEqual(expect.arrayContaining([expect.any(String)]));
  });

  it('waits below BATCH_MIN_SIZE for one interval, and sends the group once its oldest waited two', async () => {
    const policy = { ...defaultPolicy, minSize: 10 };
    const [latest] = lastFirings(policy.interval, await oldestPending(world));
    const ms = policy.interval.kind === 'every' ? policy.interval.ms : 0;
    expect(await world.tick({ policyOf: () => policy, now: () => new Date(latest.getTime() + ms) })).toEqual(
      [],
    );
    const outcomes = await world.tick({
      policyOf: () => policy,
      now: () => new Date(latest.getTime() + 2 * ms),
    });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded']);
    expect(await pendingCount(world)).toBe(0);
    const { rows } = await world.pool.query('SELECT trigger FROM batcher_batches ORDER BY id DESC LIMIT 1');
    expect(rows[0].trigger).toBe('overdue');
  });

  it('sends on the interval a group of at least BATCH_MIN_SIZE', async () => {
    await world.enqueue(range(101, 3));
    const policy = { ...defaultPolicy, minSize: 3 };
    const [latest] = lastFirings(policy.interval, await oldestPending(world));
    const ms = policy.interval.kind === 'every' ? policy.interval.ms : 0;
    const outcomes = await world.tick({ policyOf: () => policy, now: () => new Date(latest.getTime() + ms) });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded']);
    const { rows } = await world.pool.query('SELECT trigger FROM batcher_batches ORDER BY id DESC LIMIT 1');
    expect(rows[0].trigger).toBe('interval');
  });

  it('keeps the queue while paused or disabled, and sends it on demand after', async () => {
    await world.enqueue(range(201, 4));
    const policy = { ...defaultPolicy, minSize: 50 };
    await setPaused(world.pool, 'specific_viewpoint', true);
    await requestFlush(world.pool, 'specific_viewpoint');
    expect(await world.tick({ policyOf: () => policy })).toEqual([]);
    await setPaused(world.pool, 'specific_viewpoint', false);
    expect(await world.tick({ policyOf: () => policy, enabled: false })).toEqual([]);
    expect(await pendingCount(world)).toBe(4);
    const outcomes = await world.tick({ policyOf: () => policy });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded']);
    const { rows } = await world.pool.query('SELECT trigger FROM batcher_batches ORDER BY id DESC LIMIT 1');
    expect(rows[0].trigger).toBe('on_demand');
    // Later requests are not part of that demand.
    await world.enqueue(range(301, 2));
    expect(await world.tick({ policyOf: () => policy })).toEqual([]);
  });
});
