import { createReadStream } from 'node:fs';
import { ProviderError } from '@batchline/providers';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatcherWorld, batcherWorld, defaultPolicy, OPENAI_KEY, range } from './support.ts';

/** Makes the planned batches' leases run out, as if their maker had died long enough ago. */
const expireLeases = (world: BatcherWorld) =>
  world.pool.query(
    "UPDATE batcher_batches SET lease_until = now() - interval '1 second' WHERE state = 'planned'",
  );

/** Two hours on: every pending group has seen an interval firing (the default interval is an hour). */
const later = () => new Date(Date.now() + 2 * 3_600_000);

const providerBatches = async (world: BatcherWorld) =>
  (await world.provider.listBatches({ limit: 100 })).batches;

const expectLandedOnce = async (world: BatcherWorld, ids: readonly number[]) => {
  const landed = await world.landings();
  expect([...landed.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  expect([...landed.values()].filter((logs) => logs.length !== 1)).toEqual([]);
};

describe('batcher crashes, replicas and limits', () => {
  let world: BatcherWorld;
  beforeAll(async () => {
    world = await batcherWorld('batcher_crashes');
  });
  afterAll(async () => {
    await world?.close();
  });

  it('records, after a restart, a batch created by a batcher that died before recording it', async () => {
    await world.enqueue(range(1, 5));
    await expect(
      world.tick({
        now: later,
        crashPoint: async () => {
          throw new Error('killed after create');
        },
      }),
    ).rejects.toThrow('killed after create');
    expect(await world.landings()).toEqual(new Map());
    expect(await providerBatches(world)).toHaveLength(1);
    await expireLeases(world);
    const outcomes = await world.tick({ instanceId: 'batcher-test-2', now: later });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded']);
    expect(await providerBatches(world)).toHaveLength(1);
    await expectLandedOnce(world, range(1, 5));
  });

  it('makes again, after a restart, a batch whose file was uploaded but never made a batch', async () => {
    await world.enqueue(range(11, 5));
    const sdk = new OpenAI({ apiKey: OPENAI_KEY, baseURL: world.emulator.baseUrl });
    // The upload reaches the provider; the process dies before the batch is created.
    const dying = {
      ...world.provider,
      uploadAndCreateBatch: async (input: { inputPath: string }) => {
        await sdk.files.create({ file: createReadStream(input.inputPath), purpose: 'batch' });
        throw new Error('killed between upload and create');
      },
    };
    const first = await world.tick({ provider: dying as typeof world.provider, now: later });
    expect(first.map((o) => o.outcome)).toEqual(['deferred']);
    const outcomes = await world.tick({ instanceId: 'batcher-test-2', now: later });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded']);
    expect(await providerBatches(world)).toHaveLength(2);
    await expectLandedOnce(world, range(1, 5).concat(range(11, 5)));
  });

  it('cancels the duplicate when a stalled batcher creates a batch another already made', async () => {
    await world.enqueue(range(21, 3));
    let stalled: (() => void) | undefined;
    const slow = world.tick({
      now: later,
      crashPoint: () =>
        new Promise<void>((resolve) => {
          stalled = resolve;
        }),
    });
    while (stalled === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    // Its lease runs out while it stalls; another replica reconciles the planned batch and records it.
    await expireLeases(world);
    expect((await world.tick({ instanceId: 'batcher-test-2', now: later })).map((o) => o.outcome)).toEqual([
      'recorded',
    ]);
    stalled();
    expect((await slow).map((o) => o.outcome)).toEqual(['duplicate']);
    await expectLandedOnce(world, [...range(1, 5), ...range(11, 5), ...range(21, 3)]);
  });

  it('never puts one request in two batches across concurrent replicas', async () => {
    const ids = range(1001, 300);
    await world.enqueue(ids);
    const policy = { ...defaultPolicy, maxRequests: 40 };
    const replicas = await Promise.all(
      ['a', 'b', 'c'].map((name) => world.tick({ instanceId: `replica-${name}`, policyOf: () => policy })),
    );
    // Size batches while 40 wait; the remaining 20 wait for the interval.
    expect(replicas.flat().filter((o) => o.outcome === 'recorded')).toHaveLength(7);
    const landed = await world.landings();
    expect(ids.filter((id) => landed.has(id))).toHaveLength(280);
    expect([...landed.values()].filter((logs) => logs.length !== 1)).toEqual([]);
  });

  it('waits under the enqueued-token ceiling rather than earn token_limit_exceeded', async () => {
    await world.pool.query('DELETE FROM batcher_requests WHERE planned_batch_id IS NULL');
    await world.enqueue(range(2001, 4));
    const { rows } = await world.pool.query<{ tokens: number }>(
      'SELECT estimated_tokens AS tokens FROM batcher_requests WHERE request_id = $1',
      ['2001'],
    );
    const perRequest = rows[0]!.tokens;
    expect(perRequest).toBeGreaterThan(5);
    const inFlight = Number(
      (
        await world.pool.query<{ n: string }>(
          "SELECT coalesce(sum(estimated_tokens), 0) AS n FROM batcher_batches WHERE state = 'recorded'",
        )
      ).rows[0]!.n,
    );
    const ceiling = inFlight + Math.floor(perRequest * 2.5);
    const first = await world.tick({ maxEnqueuedTokens: ceiling, now: later });
    expect(first.map((o) => o.outcome)).toEqual(['recorded']);
    const { rows: sizes } = await world.pool.query(
      'SELECT request_count FROM batcher_batches ORDER BY id DESC LIMIT 1',
    );
    expect(sizes[0].request_count).toBe(2);
    // The first batch still runs at the provider: nothing more fits.
    expect(await world.tick({ maxEnqueuedTokens: ceiling, now: later })).toEqual([]);
  });

  it('re-queues a refused batch and announces the refusal', async () => {
    const refusing = {
      ...world.provider,
      uploadAndCreateBatch: async () => {
        throw new ProviderError({
          kind: 'bad_request',
          operation: 'createBatch',
          message: 'token_limit_exceeded',
        });
      },
    };
    const outcomes = await world.tick({ provider: refusing as typeof world.provider, now: later });
    expect(outcomes.map((o) => o.outcome)).toEqual(['refused']);
    const pending = await world.pool.query(
      'SELECT count(*)::int AS n FROM batcher_requests WHERE planned_batch_id IS NULL',
    );
    expect(pending.rows[0].n).toBe(2);
    const ops = await world.pool.query("SELECT payload FROM outbox WHERE subject = 'ops.error'");
    expect(ops.rows.map((row) => row.payload.kind)).toContain('batch_refused');
  });

  it('stops at the daily budget and says so once', async () => {
    const policy = { ...defaultPolicy, dailyBudgetUsd: 0.000001 };
    expect(await world.tick({ policyOf: () => policy, now: later })).toEqual([]);
    expect(await world.tick({ policyOf: () => policy, now: later })).toEqual([]);
    const ops = await world.pool.query("SELECT payload FROM outbox WHERE subject = 'ops.error'");
    expect(ops.rows.filter((row) => row.payload.kind === 'budget_exceeded')).toHaveLength(1);
  });
});
