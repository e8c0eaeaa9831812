import { readFile } from 'node:fs/promises';
import { DEFAULT_MODEL_PRICES, pricingFrom } from '@batchline/config';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitoringDataSchema, success } from '../src/api-schema.ts';
import { asOperator, type BatchSpec, buildTestApp, ok, seedBatch } from './support.ts';

const HOUR = 60;

// The same batches twice: job type `cached_run` with part of each prompt read from the prompt cache, job type
// `plain_run` with none. Final batches (recorded in the facts), a batch still landing (read live) and one of
// yesterday (the trends' previous period), over both providers.
const batchesOf = (jobType: string, cached: boolean): BatchSpec[] => {
  const c = (tokens: number) => (cached ? tokens : undefined);
  return [
    {
      name: `${jobType}-openai`,
      ageMinutes: 30,
      model: 'gpt-4o-mini',
      jobType,
      state: 'completed',
      results: [ok(1000, 100, c(600)), ok(2000, 200, c(1200))],
    },
    {
      name: `${jobType}-anthropic`,
      ageMinutes: 40,
      model: 'claude-sonnet-4-5-20250929',
      provider: 'anthropic',
      jobType,
      state: 'completed',
      // Anthropic: the whole prompt cached in one request, none in the other.
      results: [ok(4000, 50, c(4000)), ok(1000, 50, c(0))],
    },
    {
      name: `${jobType}-landing`,
      ageMinutes: 20,
      model: 'gpt-4o-mini',
      jobType,
      state: 'processing',
      totalRequests: 4,
      results: [ok(500, 10, c(500))],
    },
    {
      name: `${jobType}-yesterday`,
      ageMinutes: 30 * HOUR,
      model: 'gpt-4o-mini',
      jobType,
      state: 'completed',
      results: [ok(10_000, 0, c(5_000))],
    },
  ];
};

/** What a batch's tokens cost synchronously at the built-in prices, cached tokens at the cached-input price. */
function syncUsdOf(spec: BatchSpec): number {
  const price = DEFAULT_MODEL_PRICES[spec.model!.replace(/-\d{8}$/, '')]!;
  let usd = 0;
  for (const result of spec.results) {
    const cached = result.cachedPromptTokens ?? 0;
    usd +=
      (result.promptTokens! - cached) * price.input +
      cached * price.cachedInput! +
      result.completionTokens! * price.output;
  }
  return usd / 1e6;
}
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** Both providers' built-in batch discount is 50%. */
const batchUsdOf = (specs: BatchSpec[]) => sum(specs.map(syncUsdOf)) / 2;

/** The API rounds money to a millionth of a dollar. */
const expectMoney = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(5e-7 + 1e-12);

describe('cached prompt tokens in the monitor costs', () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;
  const cachedBatches = batchesOf('cached_run', true);
  const plainBatches = batchesOf('plain_run', false);
  const ids = new Map<string, number>();

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_cached_costs');
    let first = 1;
    for (const spec of [...cachedBatches, ...plainBatches]) {
      ids.set(spec.name, await seedBatch(db.pool, spec, first));
      first += 100;
    }
    app = await buildTestApp(db.pool, { pricing: pricingFrom({ MODEL_PRICES: DEFAULT_MODEL_PRICES }) });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const get = async (query: string) => {
    const response = await app.inject({ url: `/api/admin/batch-monitoring${query}`, headers: asOperator });
    expect(response.statusCode, response.body).toBe(200);
    expect(success(MonitoringDataSchema).safeParse(response.json()).error).toBeUndefined();
    return response.json().data;
  };
  const today = (specs: BatchSpec[]) => specs.filter((spec) => spec.ageMinutes < 24 * HOUR);

  it('computes the expected figures from the price table', () => {
    // gpt-4o-mini $0.15 / $0.075 cached / $0.60 out; claude-sonnet-4-5 $3 / $0.30 cached / $15 out, per 1M.
    expect(syncUsdOf(cachedBatches[0]!)).toBeCloseTo((1200 * 0.15 + 1800 * 0.075 + 300 * 0.6) / 1e6, 12);
    expect(syncUsdOf(plainBatches[0]!)).toBeCloseTo((3000 * 0.15 + 300 * 0.6) / 1e6, 12);
    expect(syncUsdOf(cachedBatches[1]!)).toBeCloseTo((1000 * 3 + 4000 * 0.3 + 100 * 15) / 1e6, 12);
  });

  // 1h reads final batches from their facts, 24h from their hourly sums; the landing batch is read live in both.
  it.each(['1h', '24h'])('prices cached tokens lower in the summary and per provider (%s)', async (range) => {
    const cached = await get(`?timeRange=${range}&jobType=cached_run`);
    const plain = await get(`?timeRange=${range}&jobType=plain_run`);
    expectMoney(cached.summary.costSavings.batchCost, batchUsdOf(today(cachedBatches)));
    expectMoney(plain.summary.costSavings.batchCost, batchUsdOf(today(plainBatches)));
    expect(cached.summary.costSavings.batchCost).toBeLessThan(plain.summary.costSavings.batchCost);
    expectMoney(cached.summary.costSavings.currentPeriod, batchUsdOf(today(cachedBatches)));

    const byProvider = (data: {
      byProvider: { provider: string; summary: { costSavings: { batchCost: number } } }[];
    }) =>
      Object.fromEntries(
        data.byProvider.map((entry) => [entry.provider, entry.summary.costSavings.batchCost]),
      );
    const ofProvider = (specs: BatchSpec[], provider: string) =>
      today(specs).filter((spec) => (spec.provider ?? 'openai') === provider);
    for (const provider of ['openai', 'anthropic']) {
      expectMoney(byProvider(cached)[provider]!, batchUsdOf(ofProvider(cachedBatches, provider)));
      expectMoney(byProvider(plain)[provider]!, batchUsdOf(ofProvider(plainBatches, provider)));
    }
  });

  it("prices each job's cached tokens in the job list, final or still landing", async () => {
    const data = await get('?timeRange=24h&jobType=cached_run&includeDetails=true');
    for (const spec of today(cachedBatches)) {
      const job = data.jobs.find((entry: { id: number }) => entry.id === ids.get(spec.name));
      expectMoney(job.costEstimate, syncUsdOf(spec) / 2);
      expectMoney(job.costSavings, syncUsdOf(spec) / 2);
    }
  });

  it("prices the previous period's cached tokens in the trends", async () => {
    const cached = await get('?timeRange=24h&jobType=cached_run');
    expectMoney(cached.trends.figures.batchCost.previous, syncUsdOf(cachedBatches[3]!) / 2);
    const plain = await get('?timeRange=24h&jobType=plain_run');
    expectMoney(plain.trends.figures.batchCost.previous, syncUsdOf(plainBatches[3]!) / 2);
  });

  it('backfills the cached tokens of facts recorded before migration 0018, once however often it runs', async () => {
    const before = await get('?timeRange=24h&jobType=cached_run');
    // As the facts were before the migration: no cached tokens.
    await db.pool.query('UPDATE monitor_batch_facts SET cached_prompt_tokens = 0');
    await db.pool.query('UPDATE monitor_hourly_facts SET cached_prompt_tokens = 0');
    const unpriced = await get('?timeRange=24h&jobType=cached_run');
    expect(unpriced.summary.costSavings.batchCost).toBeGreaterThan(before.summary.costSavings.batchCost);

    const migration = await readFile(
      new URL('../../../libs/db/migrations/0018_cached_token_facts.sql', import.meta.url),
      'utf8',
    );
    await db.pool.query(migration);
    await db.pool.query(migration);
    const after = await get('?timeRange=24h&jobType=cached_run');
    expect(after.summary.costSavings).toEqual(before.summary.costSavings);
    expect(after.trends.figures.batchCost).toEqual(before.trends.figures.batchCost);
    const { rows } = await db.pool.query(
      `SELECT (SELECT sum(cached_prompt_tokens) FROM monitor_batch_facts)::int AS facts,
              (SELECT sum(cached_prompt_tokens) FROM monitor_hourly_facts)::int AS hourly`,
    );
    // The final cached batches: 1800 + 4000 + 5000 cached tokens (the landing one has no facts yet).
    expect(rows[0]).toEqual({ facts: 10_800, hourly: 10_800 });
  });
});
