import { describe, expect, it } from 'vitest';
import { computeFigures, jobView, TIME_RANGES } from '../src/figures.ts';
import { priceForModel, tokenCost } from '../src/pricing.ts';
import type { MonitoringGroup } from '../src/store/monitoring-snapshot.ts';

const prices = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
};
const pricing = { prices, batchDiscountPercent: { openai: 50, anthropic: 50 } };

const group = (overrides: Partial<MonitoringGroup>): MonitoringGroup => ({
  bucketStart: new Date('2026-11-23T10:00:00Z'),
  jobType: 'specific_viewpoint',
  provider: 'openai',
  model: 'gpt-4o-mini',
  state: 'completed',
  jobs: 1,
  totalRequests: 0,
  succeeded: 0,
  failed: 0,
  promptTokens: 0,
  completionTokens: 0,
  cachedPromptTokens: 0,
  finishedJobs: 0,
  processingMsSum: 0,
  ...overrides,
});

describe('pricing', () => {
  it('matches a model exactly, else the model it is a dated snapshot of', () => {
    expect(priceForModel(prices, 'gpt-4o-mini')).toBe(prices['gpt-4o-mini']);
    expect(priceForModel(prices, 'gpt-4o-mini-2024-07-18')).toBe(prices['gpt-4o-mini']);
    expect(priceForModel(prices, 'gpt-4o-2024-08-06')).toBe(prices['gpt-4o']);
    expect(priceForModel({ 'gpt-3.5-turbo': prices['gpt-4o'] }, 'gpt-3.5-turbo-0125')).toBe(prices['gpt-4o']);
    expect(priceForModel(prices, 'gpt-4o-minimal')).toBeNull();
    expect(priceForModel(prices, 'gpt-4o-audio-preview')).toBeNull();
    expect(priceForModel(prices, 'claude-3')).toBeNull();
    expect(priceForModel(prices, null)).toBeNull();
  });

  it('prices tokens per million, with the batch discount', () => {
    const cost = tokenCost(prices['gpt-4o'], { promptTokens: 1_000_000, completionTokens: 500_000 }, 50);
    expect(cost.syncUsd).toBeCloseTo(2.5 + 5, 10);
    expect(cost.batchUsd).toBeCloseTo(3.75, 10);
  });
});

describe('computeFigures', () => {
  const window = {
    rangeMs: TIME_RANGES['24h'].rangeMs,
    bucketMs: TIME_RANGES['24h'].bucketMs,
    from: new Date('2026-11-22T12:30:00Z'),
    to: new Date('2026-11-23T12:30:00Z'),
    pricing,
  };
  const groups: MonitoringGroup[] = [
    group({
      state: 'completed',
      jobs: 3,
      totalRequests: 300,
      succeeded: 290,
      failed: 10,
      promptTokens: 2_000_000,
      completionTokens: 100_000,
      finishedJobs: 3,
      processingMsSum: 3 * 1_800_000,
    }),
    group({
      state: 'failed',
      model: 'gpt-4o',
      jobs: 1,
      totalRequests: 100,
      succeeded: 20,
      failed: 80,
      promptTokens: 100_000,
      completionTokens: 10_000,
      finishedJobs: 1,
      processingMsSum: 7_200_000,
      bucketStart: new Date('2026-11-23T11:00:00Z'),
    }),
    group({
      state: 'processing',
      model: 'unpriced-model',
      jobs: 2,
      totalRequests: 50,
      promptTokens: 40,
      completionTokens: 2,
    }),
  ];

  it('computes every summary figure from the groups', () => {
    const figures = computeFigures({
      ...window,
      groups,
      liveQueues: { pending: 4, processing: 2 },
      state: null,
    });
    const sync = 2 * 0.15 + 0.1 * 0.6 + (0.1 * 2.5 + 0.01 * 10);
    expect(figures.summary).toEqual({
      totalJobs: 6,
      completedJobs: 3,
      failedJobs: 1,
      pendingJobs: 2,
      totalRequests: 450,
      processedRequests: 310,
      failedRequests: 90,
      costSavings: {
        currentPeriod: Number((sync / 2).toFixed(6)),
        projectedMonthly: Number(((sync / 2) * 30).toFixed(6)),
        savingsPercentage: 50,
        batchCost: Number((sync / 2).toFixed(6)),
        syncCost: Number(sync.toFixed(6)),
        unpricedTokens: 42,
      },
      averageProcessingTime: (3 * 1_800_000 + 7_200_000) / 4,
      successRate: Number(((310 / 400) * 100).toFixed(2)),
    });
    expect(figures.queues).toEqual({ pending: 4, processing: 2, completed: 3, failed: 1 });
    expect(figures.performance.throughput).toEqual({
      requestsPerHour: Number((400 / 24).toFixed(2)),
      jobsPerHour: Number((4 / 24).toFixed(2)),
      averageBatchSize: 75,
    });
    expect(figures.performance.efficiency).toEqual({
      batchUtilization: Number(((450 / 50_000 / 6) * 100).toFixed(2)),
      processingEfficiency: 75,
      errorRate: Number(((90 / 400) * 100).toFixed(2)),
    });
    expect(figures.jobsInScope).toBe(6);
  });

  it('lays the groups on a zero-filled series of clock-aligned buckets covering the window', () => {
    const figures = computeFigures({
      ...window,
      groups,
      liveQueues: { pending: 0, processing: 0 },
      state: null,
    });
    expect(figures.historical).toHaveLength(25);
    expect(figures.historical[0]!.timestamp).toBe('2026-11-22T12:00:00.000Z');
    expect(figures.historical.at(-1)!.timestamp).toBe('2026-11-23T12:00:00.000Z');
    const at = (iso: string) => figures.historical.find((point) => point.timestamp === iso)!;
    expect(at('2026-11-23T10:00:00.000Z')).toMatchObject({ totalJobs: 5, completedJobs: 3, pendingJobs: 2 });
    expect(at('2026-11-23T11:00:00.000Z')).toMatchObject({ totalJobs: 1, failedJobs: 1, failedRequests: 80 });
    expect(figures.historical.reduce((sum, point) => sum + point.totalJobs, 0)).toBe(6);
  });

  it('applies the state filter to the figures but not to the queues', () => {
    const figures = computeFigures({
      ...window,
      groups,
      liveQueues: { pending: 4, processing: 2 },
      state: 'failed',
    });
    expect(figures.summary).toMatchObject({
      totalJobs: 1,
      completedJobs: 0,
      failedJobs: 1,
      totalRequests: 100,
    });
    expect(figures.queues).toEqual({ pending: 4, processing: 2, completed: 3, failed: 1 });
    expect(figures.jobsInScope).toBe(1);
  });

  it('breaks the summary and performance down by job type, by name, each as if filtered to it', () => {
    const sentiment = group({
      jobType: 'review_sentiment',
      model: 'gpt-4o',
      jobs: 2,
      totalRequests: 40,
      succeeded: 30,
      failed: 10,
      promptTokens: 1_000_000,
      finishedJobs: 2,
      processingMsSum: 2 * 600_000,
    });
    const liveQueues = { pending: 4, processing: 2 };
    const figures = computeFigures({ ...window, groups: [...groups, sentiment], liveQueues, state: null });
    expect(figures.byJobType.map((entry) => entry.jobType)).toEqual([
      'review_sentiment',
      'specific_viewpoint',
    ]);
    expect(figures.byJobType[0]).toEqual({
      jobType: 'review_sentiment',
      summary: {
        totalJobs: 2,
        completedJobs: 2,
        failedJobs: 0,
        pendingJobs: 0,
        totalRequests: 40,
        processedRequests: 30,
        failedRequests: 10,
        // 1M prompt tokens of gpt-4o: $2.50 synchronously, half of it through the batch API.
        costSavings: {
          currentPeriod: 1.25,
          projectedMonthly: 37.5,
          savingsPercentage: 50,
          batchCost: 1.25,
          syncCost: 2.5,
          unpricedTokens: 0,
        },
        averageProcessingTime: 600_000,
        successRate: 75,
      },
      performance: {
        throughput: { requestsPerHour: 1.67, jobsPerHour: 0.08, averageBatchSize: 20 },
        efficiency: { batchUtilization: 0.04, processingEfficiency: 100, errorRate: 25 },
      },
    });
    const viewpointOnly = computeFigures({ ...window, groups, liveQueues, state: null });
    expect(figures.byJobType[1]).toEqual({
      jobType: 'specific_viewpoint',
      summary: viewpointOnly.summary,
      performance: viewpointOnly.performance,
    });
    expect(figures.summary.totalJobs).toBe(viewpointOnly.summary.totalJobs + 2);

    const failedOnly = computeFigures({
      ...window,
      groups: [...groups, sentiment],
      liveQueues,
      state: 'failed',
    });
    expect(failedOnly.byJobType.map((entry) => [entry.jobType, entry.summary.totalJobs])).toEqual([
      ['specific_viewpoint', 1],
    ]);
  });

  it('prices the cached part of the prompt at the cached-input price', () => {
    const cachedPricing = {
      prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 } },
      batchDiscountPercent: { openai: 50, anthropic: 50 },
    };
    const of = (cachedPromptTokens: number) =>
      computeFigures({
        ...window,
        pricing: cachedPricing,
        groups: [group({ promptTokens: 2_000_000, cachedPromptTokens, completionTokens: 100_000 })],
        liveQueues: { pending: 0, processing: 0 },
        state: null,
      }).summary.costSavings;
    // 2M prompt tokens, half of them cached: 1M at $0.15, 1M at $0.075, and 100k completion tokens at $0.60.
    const sync = 0.15 + 0.075 + 0.06;
    const half = Number((sync / 2).toFixed(6));
    expect(of(1_000_000)).toMatchObject({
      syncCost: Number(sync.toFixed(6)),
      batchCost: half,
      currentPeriod: half,
    });
    expect(of(0)).toMatchObject({ syncCost: 0.36, batchCost: 0.18 });
  });

  it('reads zeros, not NaN, when there is nothing in the window', () => {
    const figures = computeFigures({
      ...window,
      groups: [],
      liveQueues: { pending: 0, processing: 0 },
      state: null,
    });
    expect(figures.summary.successRate).toBe(0);
    expect(figures.summary.averageProcessingTime).toBe(0);
    expect(figures.summary.costSavings.savingsPercentage).toBe(0);
    expect(figures.performance.efficiency).toEqual({
      batchUtilization: 0,
      processingEfficiency: 0,
      errorRate: 0,
    });
    expect(figures.performance.throughput.averageBatchSize).toBe(0);
    expect(figures.byJobType).toEqual([]);
    expect(JSON.stringify(figures)).not.toMatch(/NaN|Infinity|null/);
  });
});

describe('jobView', () => {
  const job = {
    id: 7,
    batchId: 'batch_x',
    provider: 'openai',
    jobType: 'specific_viewpoint',
    model: 'gpt-4o-mini-2024-07-18',
    state: 'completed' as const,
    providerStatus: 'completed',
    totalRequests: 200,
    succeeded: 190,
    failed: 10,
    createdAt: new Date('2026-11-23T10:00:00Z'),
    startedAt: new Date('2026-11-23T10:05:00Z'),
    landedAt: new Date('2026-11-23T10:35:00Z'),
    pollingPaused: false,
    pollPriority: 0,
    retryOf: null,
    retriedAs: null,
    promptTokens: 20_000,
    completionTokens: 1_000,
    cachedPromptTokens: 0,
    errors: [
      { errorCode: 'invalid_content', requests: 6 },
      { errorCode: 'server_error', requests: 4 },
    ],
  };

  it('shows times, processing time, cost and errors as shares of the batch', () => {
    expect(jobView(job, pricing, true)).toMatchObject({
      id: 7,
      status: 'completed',
      requestCount: 200,
      completedCount: 190,
      failedCount: 10,
      startedAt: '2026-11-23T10:05:00.000Z',
      completedAt: '2026-11-23T10:35:00.000Z',
      processingTimeMs: 35 * 60_000,
      costEstimate: Number((((20_000 * 0.15 + 1_000 * 0.6) / 1e6) * 0.5).toFixed(6)),
      errorSummary: [
        { error: 'invalid_content', count: 6, percentage: 3 },
        { error: 'server_error', count: 4, percentage: 2 },
      ],
    });
  });

  it("prices a job's cached prompt tokens at the cached-input price", () => {
    const cachedPricing = {
      prices: { 'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 } },
      batchDiscountPercent: { openai: 50, anthropic: 50 },
    };
    const view = jobView({ ...job, cachedPromptTokens: 8_000 }, cachedPricing, true);
    const sync = (12_000 * 0.15 + 8_000 * 0.075 + 1_000 * 0.6) / 1e6;
    const half = Number((sync / 2).toFixed(6));
    expect(view).toMatchObject({ costEstimate: half, costSavings: half });
  });

  it('leaves details out unless asked, and has no end for a job still running', () => {
    const running = jobView({ ...job, state: 'processing', landedAt: null }, pricing, false);
    expect(running.completedAt).toBeNull();
    expect(running.processingTimeMs).toBeNull();
    expect(running).not.toHaveProperty('errorSummary');
    expect(running).not.toHaveProperty('costEstimate');
  });
});
