import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlertsDataSchema,
  FailureSchema,
  MonitoringDataSchema,
  type Performance,
  type Summary,
  success,
} from '../src/api-schema.ts';
import {
  asOperator,
  auditRecords,
  type BatchSpec,
  buildTestApp,
  failed,
  ok,
  seedBatch,
  TEST_PRICES,
} from './support.ts';

const HOUR = 60;
const DAY = 24 * HOUR;

// The seeded world. Every expected figure below is computed from these specs (and the timestamps the database
// recorded), never from the monitor's own tables.
const SPECS: BatchSpec[] = [
  {
    name: 'recent-completed',
    ageMinutes: 30,
    model: 'gpt-4o-mini',
    state: 'completed',
    results: [ok(120, 8), ok(130, 9), failed('invalid_content', 110, 40)],
  },
  {
    name: 'completed-mini',
    ageMinutes: 2 * HOUR,
    model: 'gpt-4o-mini-2024-07-18',
    state: 'completed',
    results: [
      ok(200, 10),
      ok(210, 11),
      ok(190, 9),
      ok(205, 12),
      ok(180, 10),
      ok(220, 14),
      ok(230, 15),
      ok(199, 10),
      failed('invalid_content', 150, 60),
      failed('missing_result'),
    ],
  },
  {
    name: 'expired-4o',
    ageMinutes: 5 * HOUR,
    model: 'gpt-4o',
    state: 'failed',
    results: [
      ok(1000, 50),
      ok(1100, 60),
      ok(900, 40),
      failed('batch_expired'),
      failed('batch_expired'),
      failed('server_error', 500, 0),
    ],
  },
  {
    name: 'sentiment-unpriced',
    ageMinutes: 3 * HOUR,
    model: 'house-model',
    jobType: 'sentiment',
    state: 'completed',
    results: [ok(70, 7), ok(80, 8)],
  },
  {
    name: 'sentiment-failed',
    ageMinutes: 50,
    model: 'gpt-4o-mini',
    jobType: 'sentiment',
    state: 'failed',
    results: [ok(300, 20), failed('unknown_label', 200, 10), failed('batch_expired')],
  },
  {
    name: 'in-progress',
    ageMinutes: 90,
    model: 'gpt-4o-mini',
    state: 'processing',
    results: [],
    totalRequests: 40,
  },
  {
    name: 'validating',
    ageMinutes: 20,
    model: 'gpt-4o-mini',
    state: 'pending',
    results: [],
    totalRequests: 12,
  },
  {
    name: 'landing',
    ageMinutes: 4 * HOUR,
    model: 'gpt-4o',
    state: 'processing',
    providerStatus: 'completed',
    results: [ok(300, 30), failed('http_500', 10, 0)],
    totalRequests: 5,
  },
  {
    name: 'yesterday',
    ageMinutes: 30 * HOUR,
    model: 'gpt-4o-mini',
    state: 'completed',
    results: [ok(100, 5), ok(100, 5), failed('invalid_content', 100, 20)],
  },
  {
    name: 'last-week',
    ageMinutes: 10 * DAY,
    model: 'gpt-4o',
    state: 'failed',
    results: [failed('batch_cancelled'), ok(400, 40)],
  },
  { name: 'too-old', ageMinutes: 40 * DAY, model: 'gpt-4o-mini', state: 'completed', results: [ok(999, 99)] },
];

const RANGE_MINUTES = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY } as const;
type Range = keyof typeof RANGE_MINUTES;

interface Seeded extends BatchSpec {
  id: number;
  createdAt: Date;
  landedAt: Date | null;
}

const priceOf = (model: string | null) => {
  if (model === null) return null;
  const base = Object.keys(TEST_PRICES).find((name) => model === name || model.startsWith(`${name}-20`));
  return base ? TEST_PRICES[base as keyof typeof TEST_PRICES] : null;
};

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** The API rounds rates and percentages to a hundredth and money to a millionth of a dollar. */
function expectRounded(actual: number, expected: number, decimals: number) {
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(
    0.5 * 10 ** -decimals + 1e-9,
  );
}
const tokensOf = (spec: BatchSpec) => ({
  prompt: sum(spec.results.map((r) => r.promptTokens ?? 0)),
  completion: sum(spec.results.map((r) => r.completionTokens ?? 0)),
});
const syncCostOf = (spec: BatchSpec) => {
  const price = priceOf(spec.model);
  if (!price) return 0;
  const tokens = tokensOf(spec);
  return (tokens.prompt * price.input + tokens.completion * price.output) / 1e6;
};
const isFinal = (spec: BatchSpec) => spec.state === 'completed' || spec.state === 'failed';

/** The figures of contract §7 as services/monitor/README.md defines them, from the specs. */
function expectedFigures(
  batches: Seeded[],
  range: Range,
  filter: { status?: string; jobType?: string } = {},
) {
  const ofType = (b: BatchSpec) =>
    filter.jobType === undefined || (b.jobType ?? 'specific_viewpoint') === filter.jobType;
  const inRange = batches.filter((b) => b.ageMinutes < RANGE_MINUTES[range] && ofType(b));
  const scope = inRange.filter((b) => filter.status === undefined || b.state === filter.status);
  const succeeded = sum(scope.map((b) => b.results.filter((r) => r.ok).length));
  const failedRequests = sum(scope.map((b) => b.results.filter((r) => !r.ok).length));
  const finished = scope.filter(isFinal);
  const sync = sum(scope.map(syncCostOf));
  const hours = RANGE_MINUTES[range] / 60;
  const totalRequests = sum(scope.map((b) => b.totalRequests ?? b.results.length));
  return {
    summary: {
      totalJobs: scope.length,
      completedJobs: scope.filter((b) => b.state === 'completed').length,
      failedJobs: scope.filter((b) => b.state === 'failed').length,
      pendingJobs: scope.filter((b) => !isFinal(b)).length,
      totalRequests,
      processedRequests: succeeded,
      failedRequests,
      savings: sync / 2,
      projectedMonthly: (sync / 2) * ((30 * 24) / hours),
      savingsPercentage: sync > 0 ? 50 : 0,
      batchCost: sync / 2,
      syncCost: sync,
      unpricedTokens: sum(
        scope
          .filter((b) => priceOf(b.model) === null)
          .map((b) => tokensOf(b).prompt + tokensOf(b).completion),
      ),
      averageProcessingTime:
        finished.length > 0
          ? sum(finished.map((b) => b.landedAt!.getTime() - b.createdAt.getTime())) / finished.length
          : 0,
      successRate: succeeded + failedRequests > 0 ? (succeeded / (succeeded + failedRequests)) * 100 : 0,
    },
    // Pending and processing: every batch not final, whenever created (of the job type asked for).
    queues: {
      pending: batches.filter((b) => b.state === 'pending' && ofType(b)).length,
      processing: batches.filter((b) => b.state === 'processing' && ofType(b)).length,
      completed: inRange.filter((b) => b.state === 'completed').length,
      failed: inRange.filter((b) => b.state === 'failed').length,
    },
    throughput: {
      requestsPerHour: (succeeded + failedRequests) / hours,
      jobsPerHour: finished.length / hours,
      averageBatchSize: scope.length > 0 ? totalRequests / scope.length : 0,
    },
    efficiency: {
      batchUtilization:
        scope.length > 0
          ? (sum(scope.map((b) => (b.totalRequests ?? b.results.length) / 50_000)) / scope.length) * 100
          : 0,
      processingEfficiency:
        finished.length > 0
          ? (scope.filter((b) => b.state === 'completed').length / finished.length) * 100
          : 0,
      errorRate: succeeded + failedRequests > 0 ? (failedRequests / (succeeded + failedRequests)) * 100 : 0,
    },
    ids: scope.map((b) => b.id),
  };
}

/** The summary and performance figures of an answer (or of one job type's entry) against the expected ones. */
function expectFigures(
  figures: { summary: Summary; performance: Performance },
  expected: ReturnType<typeof expectedFigures>,
) {
  const { summary } = figures;
  expect(summary).toMatchObject({
    totalJobs: expected.summary.totalJobs,
    completedJobs: expected.summary.completedJobs,
    failedJobs: expected.summary.failedJobs,
    pendingJobs: expected.summary.pendingJobs,
    totalRequests: expected.summary.totalRequests,
    processedRequests: expected.summary.processedRequests,
    failedRequests: expected.summary.failedRequests,
  });
  expectRounded(summary.costSavings.currentPeriod, expected.summary.savings, 6);
  expect(summary.costSavings.projectedMonthly).toBeCloseTo(expected.summary.projectedMonthly, 5);
  expect(summary.costSavings.savingsPercentage).toBe(expected.summary.savingsPercentage);
  expectRounded(summary.costSavings.batchCost, expected.summary.batchCost, 6);
  expectRounded(summary.costSavings.syncCost, expected.summary.syncCost, 6);
  expect(summary.costSavings.unpricedTokens).toBe(expected.summary.unpricedTokens);
  expect(
    Math.abs(summary.averageProcessingTime - expected.summary.averageProcessingTime),
  ).toBeLessThanOrEqual(1);
  expectRounded(summary.successRate, expected.summary.successRate, 2);
  expectRounded(figures.performance.throughput.requestsPerHour, expected.throughput.requestsPerHour, 2);
  expectRounded(figures.performance.throughput.jobsPerHour, expected.throughput.jobsPerHour, 2);
  expectRounded(figures.performance.throughput.averageBatchSize, expected.throughput.averageBatchSize, 2);
  expectRounded(figures.performance.efficiency.batchUtilization, expected.efficiency.batchUtilization, 2);
  expectRounded(
    figures.performance.efficiency.processingEfficiency,
    expected.efficiency.processingEfficiency,
    2,
  );
  expectRounded(figures.performance.efficiency.errorRate, expected.efficiency.errorRate, 2);
}

describe('GET /api/admin/batch-monitoring over seeded batches', () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;
  const batches: Seeded[] = [];

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_api');
    let firstSentence = 1;
    for (const spec of SPECS) {
      const id = await seedBatch(db.pool, spec, firstSentence);
      firstSentence += 100;
      const { rows } = await db.pool.query(
        'SELECT created_at, results_landed_at FROM batch_jobs_vp_logs WHERE id = $1',
        [id],
      );
      batches.push({ ...spec, id, createdAt: rows[0].created_at, landedAt: rows[0].results_landed_at });
    }
    app = await buildTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const get = async (query: string) => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/admin/batch-monitoring${query}`,
      headers: asOperator,
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.success).toBe(true);
    return body.data;
  };

  it.each(['1h', '24h', '7d', '30d'] as Range[])('computes every figure of the %s window', async (range) => {
    const data = await get(`?timeRange=${range}`);
    const expected = expectedFigures(batches, range);
    expectFigures(data, expected);
    expect(data.queues).toEqual(expected.queues);
    expect(data.pagination).toEqual({
      page: 1,
      limit: 50,
      total: expected.summary.totalJobs,
      totalPages: Math.ceil(expected.summary.totalJobs / 50),
    });
    expect(data.jobs.map((job: { id: number }) => job.id).sort()).toEqual([...expected.ids].sort());
  });

  it('places each job in the clock-aligned bucket of its creation, and the series adds up', async () => {
    const data = await get('?timeRange=7d');
    const bucketMs = 6 * 3_600_000;
    expect(data.window.bucketMs).toBe(bucketMs);
    const expected = expectedFigures(batches, '7d');
    expect(sum(data.historical.map((p: { totalJobs: number }) => p.totalJobs))).toBe(
      expected.summary.totalJobs,
    );
    expect(sum(data.historical.map((p: { costSavings: number }) => p.costSavings))).toBeCloseTo(
      expected.summary.savings,
      5,
    );
    for (const batch of batches.filter((b) => b.ageMinutes < 7 * DAY)) {
      const bucket = new Date(Math.floor(batch.createdAt.getTime() / bucketMs) * bucketMs).toISOString();
      const point = data.historical.find((p: { timestamp: string }) => p.timestamp === bucket);
      expect(point, `bucket ${bucket} of ${batch.name}`).toBeDefined();
      expect(point.totalJobs).toBeGreaterThanOrEqual(1);
    }
    const timestamps = data.historical.map((p: { timestamp: string }) => Date.parse(p.timestamp));
    expect(timestamps.every((t: number, i: number) => i === 0 || t - timestamps[i - 1] === bucketMs)).toBe(
      true,
    );
    expect(timestamps[0]).toBeLessThanOrEqual(Date.parse(data.window.from));
  });

  it.each([
    [{ status: 'failed' }, '?timeRange=30d&status=failed'],
    [{ status: 'processing' }, '?timeRange=30d&status=processing'],
    [{ jobType: 'sentiment' }, '?timeRange=30d&jobType=sentiment'],
  ])('filters by %j', async (filter, query) => {
    const data = await get(query);
    const expected = expectedFigures(batches, '30d', filter);
    expect(data.summary.totalJobs).toBe(expected.summary.totalJobs);
    expect(data.summary.processedRequests).toBe(expected.summary.processedRequests);
    expectRounded(data.summary.costSavings.currentPeriod, expected.summary.savings, 6);
    expect(data.queues).toEqual(expected.queues);
    expect(data.jobs.map((job: { id: number }) => job.id).sort()).toEqual([...expected.ids].sort());
  });

  it.each([
    ['1h', ''],
    ['24h', ''],
    ['30d', ''],
    ['30d', '&status=failed'],
    ['30d', '&jobType=sentiment'],
  ] as [Range, string][])('breaks the figures of the %s window%s down by job type', async (range, extra) => {
    const data = await get(`?timeRange=${range}${extra}`);
    const filter = Object.fromEntries(new URLSearchParams(extra));
    const inScope = new Set(expectedFigures(batches, range, filter).ids);
    const jobTypes = [
      ...new Set(batches.filter((b) => inScope.has(b.id)).map((b) => b.jobType ?? 'specific_viewpoint')),
    ].sort();
    expect(jobTypes.length).toBeGreaterThan(0);
    expect(data.byJobType.map((entry: { jobType: string }) => entry.jobType)).toEqual(jobTypes);
    for (const entry of data.byJobType) {
      expectFigures(entry, expectedFigures(batches, range, { ...filter, jobType: entry.jobType }));
    }
  });

  it('lists jobs newest first, a page at a time', async () => {
    const all = batches
      .filter((b) => b.ageMinutes < 30 * DAY)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const page2 = await get('?timeRange=30d&limit=3&page=2');
    expect(page2.jobs.map((job: { id: number }) => job.id)).toEqual(all.slice(3, 6).map((b) => b.id));
    expect(page2.pagination).toEqual({
      page: 2,
      limit: 3,
      total: all.length,
      totalPages: Math.ceil(all.length / 3),
    });
    const beyond = await get('?timeRange=30d&limit=100&page=7');
    expect(beyond.jobs).toEqual([]);
  });

  it('gives each job its fields, and with includeDetails its cost and error summary', async () => {
    const plain = await get('?timeRange=24h');
    const expired = batches.find((b) => b.name === 'expired-4o')!;
    const plainJob = plain.jobs.find((job: { id: number }) => job.id === expired.id);
    expect(plainJob).not.toHaveProperty('errorSummary');

    const detailed = await get('?timeRange=24h&includeDetails=true');
    const job = detailed.jobs.find((j: { id: number }) => j.id === expired.id);
    expect(job).toEqual({
      id: expired.id,
      batchId: expect.any(String),
      status: 'failed',
      jobType: 'specific_viewpoint',
      requestCount: 6,
      completedCount: 3,
      failedCount: 3,
      createdAt: expired.createdAt.toISOString(),
      startedAt: null,
      completedAt: expired.landedAt!.toISOString(),
      processingTimeMs: expired.landedAt!.getTime() - expired.createdAt.getTime(),
      provider: 'openai',
      model: 'gpt-4o',
      providerStatus: 'expired',
      pollingPaused: false,
      priority: 0,
      retryOf: null,
      retriedAs: null,
      estimatedCompletionAt: null,
      estimateBasis: null,
      providerProgress: null,
      costEstimate: expect.any(Number),
      costSavings: expect.any(Number),
      tokens: { prompt: 3500, completion: 150 },
      errorSummary: [
        { error: 'batch_expired', count: 2, percentage: 33.33 },
        { error: 'server_error', count: 1, percentage: 16.67 },
      ],
    });
    expectRounded(job.costEstimate, syncCostOf(expired) / 2, 6);

    const landing = batches.find((b) => b.name === 'landing')!;
    const live = detailed.jobs.find((j: { id: number }) => j.id === landing.id);
    expect(live).toMatchObject({
      status: 'processing',
      completedAt: null,
      processingTimeMs: null,
      tokens: { prompt: 310, completion: 30 },
      errorSummary: [{ error: 'http_500', count: 1, percentage: 20 }],
    });
  });

  it('answers an empty window with zeros and a zero-filled series', async () => {
    const fresh = await migratedTestDatabase('monitor_api_empty');
    const emptyApp = await buildTestApp(fresh.pool);
    try {
      const response = await emptyApp.inject({ url: '/api/admin/batch-monitoring', headers: asOperator });
      const { data } = response.json();
      expect(data.summary).toMatchObject({ totalJobs: 0, successRate: 0, averageProcessingTime: 0 });
      expect(data.queues).toEqual({ pending: 0, processing: 0, completed: 0, failed: 0 });
      expect(data.jobs).toEqual([]);
      expect(data.historical.length).toBeGreaterThanOrEqual(24);
      expect(data.historical.every((p: { totalJobs: number }) => p.totalJobs === 0)).toBe(true);
      expect(response.body).not.toMatch(/NaN|Infinity/);
    } finally {
      await emptyApp.close();
      await fresh.close();
    }
  });

  it('answers in the shapes src/api-schema.ts declares (the dashboard reads these types)', async () => {
    for (const query of [
      '?timeRange=30d&includeDetails=true',
      '?timeRange=1h',
      '?timeRange=7d&status=failed',
    ]) {
      const response = await app.inject({ url: `/api/admin/batch-monitoring${query}`, headers: asOperator });
      expect(success(MonitoringDataSchema).safeParse(response.json()).error).toBeUndefined();
    }
    const alerts = await app.inject({ url: '/api/admin/batch-monitoring/alerts', headers: asOperator });
    expect(success(AlertsDataSchema).safeParse(alerts.json()).error).toBeUndefined();
    const refused = await app.inject({ url: '/api/admin/batch-monitoring?page=0', headers: asOperator });
    expect(FailureSchema.safeParse(refused.json()).error).toBeUndefined();
  });

  it('audits every read with who asked and what', async () => {
    const before = (await auditRecords(db.pool)).length;
    await get('?timeRange=7d&status=failed&limit=5');
    const [record] = (await auditRecords(db.pool)).slice(before);
    expect(record).toMatchObject({
      actor: 'operator#1',
      action: 'monitoring.read',
      outcome: 'success',
      status_code: 200,
      route: '/api/admin/batch-monitoring',
      details: { timeRange: '7d', status: 'failed', limit: 5, page: 1, includeDetails: false, jobType: null },
    });
  });
});
