import type { Pricing } from '@batchline/config';
import type { BatchProgress, JobState } from '@batchline/db';
import { PROVIDER_BATCH_LIMITS, type ProviderName } from '@batchline/domain';
import type {
  HistoricalPoint,
  Job,
  JobTypeFigures,
  ModelFigures,
  Performance,
  ProviderFigures,
  Queues,
  Summary,
  TimeRange,
} from './api-schema.ts';
import { batchDiscountOf, priceForModel, tokenCost } from './pricing.ts';
import type { MonitoredJob } from './store/jobs.ts';
import { BUCKET_ORIGIN, type MonitoringGroup } from './store/monitoring-snapshot.ts';

// Every formula here is written out, with its source columns, in services/monitor/README.md.

export const TIME_RANGES = {
  '1h': { rangeMs: 3_600_000, bucketMs: 5 * 60_000 },
  '24h': { rangeMs: 24 * 3_600_000, bucketMs: 3_600_000 },
  '7d': { rangeMs: 7 * 24 * 3_600_000, bucketMs: 6 * 3_600_000 },
  '30d': { rangeMs: 30 * 24 * 3_600_000, bucketMs: 24 * 3_600_000 },
} as const satisfies Record<TimeRange, { rangeMs: number; bucketMs: number }>;

const HOUR_MS = 3_600_000;
const MONTH_MS = 30 * 24 * HOUR_MS;

/** The price table and each provider's batch discount (`MODEL_PRICES`, `*BATCH_DISCOUNT_PERCENT`). */
export type { Pricing };

const round = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};
/** Money in US dollars to a millionth, percentages and rates to a hundredth, durations to the millisecond. */
export const money = (value: number): number => round(value, 6);
export const percent = (value: number): number => round(value, 2);
export const rate = (value: number): number => round(value, 2);

export const share = (part: number, whole: number): number => (whole > 0 ? (part / whole) * 100 : 0);

const isFinished = (state: JobState): boolean => state === 'completed' || state === 'failed';

interface Totals {
  jobs: number;
  completedJobs: number;
  failedJobs: number;
  pendingJobs: number;
  totalRequests: number;
  succeeded: number;
  failed: number;
  finishedJobs: number;
  processingMsSum: number;
  syncUsd: number;
  batchUsd: number;
  unpricedTokens: number;
  /** Σ total requests / provider limit, over jobs: the numerator of the mean batch fill. */
  fillSum: number;
}

const emptyTotals = (): Totals => ({
  jobs: 0,
  completedJobs: 0,
  failedJobs: 0,
  pendingJobs: 0,
  totalRequests: 0,
  succeeded: 0,
  failed: 0,
  finishedJobs: 0,
  processingMsSum: 0,
  syncUsd: 0,
  batchUsd: 0,
  unpricedTokens: 0,
  fillSum: 0,
});

const batchLimit = (provider: string): number =>
  PROVIDER_BATCH_LIMITS[provider as ProviderName]?.maxRequests ?? PROVIDER_BATCH_LIMITS.openai.maxRequests;

function addGroup(totals: Totals, group: MonitoringGroup, pricing: Pricing): void {
  totals.jobs += group.jobs;
  if (group.state === 'completed') totals.completedJobs += group.jobs;
  else if (group.state === 'failed') totals.failedJobs += group.jobs;
  else totals.pendingJobs += group.jobs;
  totals.totalRequests += group.totalRequests;
  totals.succeeded += group.succeeded;
  totals.failed += group.failed;
  totals.finishedJobs += group.finishedJobs;
  totals.processingMsSum += group.processingMsSum;
  totals.fillSum += group.totalRequests / batchLimit(group.provider);
  const price = priceForModel(pricing.prices, group.model);
  if (price) {
    const cost = tokenCost(price, group, batchDiscountOf(pricing, group.provider));
    totals.syncUsd += cost.syncUsd;
    totals.batchUsd += cost.batchUsd;
  } else {
    totals.unpricedTokens += group.promptTokens + group.completionTokens;
  }
}

export interface FigureInput {
  groups: readonly MonitoringGroup[];
  liveQueues: { pending: number; processing: number };
  /** Only jobs in this state count in the summary, performance and history (queues show every state). */
  state: JobState | null;
  rangeMs: number;
  bucketMs: number;
  from: Date;
  to: Date;
  pricing: Pricing;
}

export interface Figures {
  summary: Summary;
  queues: Queues;
  performance: Performance;
  /** The summary and performance of the jobs in scope of each job type. */
  byJobType: JobTypeFigures[];
  /** The same per provider, and per provider and model. */
  byProvider: ProviderFigures[];
  byModel: ModelFigures[];
  historical: HistoricalPoint[];
  /** Jobs in scope (for paging). */
  jobsInScope: number;
}

const bucketStart = (time: number, bucketMs: number): number =>
  BUCKET_ORIGIN.getTime() + Math.floor((time - BUCKET_ORIGIN.getTime()) / bucketMs) * bucketMs;

/** The groups in scope summed per bucket, every bucket of the window included (empty ones too). */
function historicalPoints(input: FigureInput, inScope: readonly MonitoringGroup[]): HistoricalPoint[] {
  const buckets = new Map<number, Totals>();
  for (
    let t = bucketStart(input.from.getTime(), input.bucketMs);
    t <= input.to.getTime();
    t += input.bucketMs
  ) {
    buckets.set(t, emptyTotals());
  }
  for (const group of inScope) {
    const bucket = buckets.get(group.bucketStart.getTime());
    if (bucket) addGroup(bucket, group, input.pricing);
  }
  return [...buckets].map(([time, bucket]) => ({
    timestamp: new Date(time).toISOString(),
    totalJobs: bucket.jobs,
    completedJobs: bucket.completedJobs,
    failedJobs: bucket.failedJobs,
    pendingJobs: bucket.pendingJobs,
    totalRequests: bucket.totalRequests,
    processedRequests: bucket.succeeded,
    failedRequests: bucket.failed,
    batchCost: money(bucket.batchUsd),
    syncCost: money(bucket.syncUsd),
    costSavings: money(bucket.syncUsd - bucket.batchUsd),
  }));
}

/** The summary and performance figures of a set of jobs (S, or the jobs of S of one job type). */
function summarize(totals: Totals, rangeMs: number): { summary: Summary; performance: Performance } {
  const rangeHours = rangeMs / HOUR_MS;
  const savings = totals.syncUsd - totals.batchUsd;
  const landed = totals.succeeded + totals.failed;
  return {
    summary: {
      totalJobs: totals.jobs,
      completedJobs: totals.completedJobs,
      failedJobs: totals.failedJobs,
      pendingJobs: totals.pendingJobs,
      totalRequests: totals.totalRequests,
      processedRequests: totals.succeeded,
      failedRequests: totals.failed,
      costSavings: {
        currentPeriod: money(savings),
        projectedMonthly: money(savings * (MONTH_MS / rangeMs)),
        savingsPercentage: percent(share(savings, totals.syncUsd)),
        batchCost: money(totals.batchUsd),
        syncCost: money(totals.syncUsd),
        unpricedTokens: totals.unpricedTokens,
      },
      averageProcessingTime:
        totals.finishedJobs > 0 ? Math.round(totals.processingMsSum / totals.finishedJobs) : 0,
      successRate: percent(share(totals.succeeded, landed)),
    },
    performance: {
      throughput: {
        requestsPerHour: rate(landed / rangeHours),
        jobsPerHour: rate((totals.completedJobs + totals.failedJobs) / rangeHours),
        averageBatchSize: rate(totals.jobs > 0 ? totals.totalRequests / totals.jobs : 0),
      },
      efficiency: {
        batchUtilization: percent(totals.jobs > 0 ? (totals.fillSum / totals.jobs) * 100 : 0),
        processingEfficiency: percent(share(totals.completedJobs, totals.completedJobs + totals.failedJobs)),
        errorRate: percent(share(totals.failed, landed)),
      },
    },
  };
}

/** The groups summed per key (job type, provider, model): one entry per key, ordered by key. */
function breakdown(
  groups: readonly MonitoringGroup[],
  keyOf: (group: MonitoringGroup) => string,
  input: Pick<FigureInput, 'pricing' | 'rangeMs'>,
): { key: string; group: MonitoringGroup; figures: { summary: Summary; performance: Performance } }[] {
  const totalsOf = new Map<string, { group: MonitoringGroup; totals: Totals }>();
  for (const group of groups) {
    const key = keyOf(group);
    const entry = totalsOf.get(key) ?? { group, totals: emptyTotals() };
    totalsOf.set(key, entry);
    addGroup(entry.totals, group, input.pricing);
  }
  return [...totalsOf]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, { group, totals }]) => ({ key, group, figures: summarize(totals, input.rangeMs) }));
}

/** The summary of a set of groups (e.g. those of the previous period), only jobs in `state` if given. */
export function summaryOf(
  groups: readonly MonitoringGroup[],
  state: JobState | null,
  input: Pick<FigureInput, 'pricing' | 'rangeMs'>,
): Summary {
  const totals = emptyTotals();
  for (const group of groups)
    if (state === null || group.state === state) addGroup(totals, group, input.pricing);
  return summarize(totals, input.rangeMs).summary;
}

export function computeFigures(input: FigureInput): Figures {
  const inScope = input.groups.filter((group) => input.state === null || group.state === input.state);
  const totals = emptyTotals();
  for (const group of inScope) addGroup(totals, group, input.pricing);

  const finishedByState = (state: 'completed' | 'failed') =>
    input.groups.filter((group) => group.state === state).reduce((sum, group) => sum + group.jobs, 0);

  return {
    ...summarize(totals, input.rangeMs),
    queues: {
      pending: input.liveQueues.pending,
      processing: input.liveQueues.processing,
      completed: finishedByState('completed'),
      failed: finishedByState('failed'),
    },
    byJobType: breakdown(inScope, (group) => group.jobType, input).map(({ key, figures }) => ({
      jobType: key,
      ...figures,
    })),
    byProvider: breakdown(inScope, (group) => group.provider, input).map(({ key, figures }) => ({
      provider: key,
      ...figures,
    })),
    // Keyed by provider and model together: a model name belongs to one provider.
    byModel: breakdown(inScope, (group) => `${group.provider}\u0000${group.model ?? ''}`, input).map(
      ({ group, figures }) => ({ provider: group.provider, model: group.model, ...figures }),
    ),
    historical: historicalPoints(input, inScope),
    jobsInScope: totals.jobs,
  };
}

/**
 * One job of the list; `progress` (pending jobs: readBatchProgress) gives its estimate; `details` adds its cost,
 * token usage and error summary.
 */
export function jobView(
  job: MonitoredJob,
  pricing: Pricing,
  details: boolean,
  progress: BatchProgress | undefined = undefined,
): Job {
  const estimate = isFinished(job.state) ? null : (progress?.estimate ?? null);
  const view: Job = {
    id: job.id,
    batchId: job.batchId,
    status: job.state,
    jobType: job.jobType,
    requestCount: job.totalRequests,
    completedCount: job.succeeded,
    failedCount: job.failed,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    completedAt: isFinished(job.state) ? (job.landedAt?.toISOString() ?? null) : null,
    processingTimeMs:
      isFinished(job.state) && job.landedAt ? job.landedAt.getTime() - job.createdAt.getTime() : null,
    provider: job.provider,
    model: job.model,
    providerStatus: job.providerStatus,
    pollingPaused: job.pollingPaused,
    priority: job.pollPriority,
    retryOf: job.retryOf,
    retriedAs: job.retriedAs,
    estimatedCompletionAt: estimate ? new Date(estimate.at).toISOString() : null,
    estimateBasis: estimate?.basis ?? null,
    providerProgress:
      progress && progress.done !== null && progress.total !== null
        ? { done: progress.done, total: progress.total }
        : null,
  };
  if (!details) return view;
  const price = priceForModel(pricing.prices, job.model);
  const cost = price ? tokenCost(price, job, batchDiscountOf(pricing, job.provider)) : null;
  return {
    ...view,
    costEstimate: cost ? money(cost.batchUsd) : null,
    costSavings: cost ? money(cost.syncUsd - cost.batchUsd) : null,
    tokens: { prompt: job.promptTokens, completion: job.completionTokens },
    errorSummary: job.errors.map((entry) => ({
      error: entry.errorCode,
      count: entry.requests,
      percentage: percent(share(entry.requests, job.totalRequests)),
    })),
  };
}
