import { listBatchJobs, type Pool, readBatchProgress } from '@batchline/db';
import type { FastifyInstance } from 'fastify';
import type { MonitoringData, Success } from '../api-schema.ts';
import { batcherQueueView, pollingView, providerStateView } from '../api-views.ts';
import { computeFigures, jobView, type Pricing, summaryOf, TIME_RANGES } from '../figures.ts';
import { auditRead } from '../request-context.ts';
import { readBatchJobViews } from '../store/batch-jobs.ts';
import { readBatcherQueue } from '../store/batcher-queue.ts';
import { readMonitoringSnapshot } from '../store/monitoring-snapshot.ts';
import { readPreviousPeriod } from '../store/previous-period.ts';
import { readProviderStates } from '../store/provider-states.ts';
import { trendsOf } from '../trends.ts';
import { type MonitoringQuery, MonitoringQuerySchema, parseQuery } from '../validation.ts';

export interface MonitoringRoutesOptions {
  pool: Pool;
  pricing: Pricing;
}

/**
 * The monitoring view of one query: figures (with their breakdowns and their change against the previous period),
 * charts, live queues, polling and provider state, one page of jobs with their estimates, and the batch jobs
 * created in the window with their figures and batches, and the batcher's queue.
 */
async function readMonitoring(
  { pool, pricing }: MonitoringRoutesOptions,
  query: MonitoringQuery,
): Promise<MonitoringData> {
  const { rangeMs, bucketMs } = TIME_RANGES[query.timeRange];
  const snapshot = await readMonitoringSnapshot(
    pool,
    { rangeMs, jobType: query.jobType, state: query.status },
    { bucketMs, limit: query.limit, offset: (query.page - 1) * query.limit },
  );
  const progress = await readBatchProgress(
    pool,
    snapshot.jobs.filter((job) => job.state === 'pending' || job.state === 'processing').map((job) => job.id),
  );
  const previous = await readPreviousPeriod(pool, { rangeMs, jobType: query.jobType, to: snapshot.from });
  const providers = await readProviderStates(pool);
  const batchJobs = await readBatchJobViews(
    pool,
    await listBatchJobs(pool, { limit: query.limit, jobType: query.jobType, since: snapshot.from }),
  );
  const batcherQueue = await readBatcherQueue(pool, query.jobType);
  const figures = computeFigures({
    groups: snapshot.groups,
    liveQueues: snapshot.liveQueues,
    state: query.status,
    rangeMs,
    bucketMs,
    from: snapshot.from,
    to: snapshot.to,
    pricing,
  });
  return {
    summary: figures.summary,
    queues: figures.queues,
    performance: figures.performance,
    byJobType: figures.byJobType,
    byProvider: figures.byProvider,
    byModel: figures.byModel,
    trends: trendsOf(
      figures.summary,
      summaryOf(previous.groups, query.status, { pricing, rangeMs }),
      previous,
    ),
    providers: providers.map(providerStateView),
    jobs: snapshot.jobs.map((job) => jobView(job, pricing, query.includeDetails, progress.get(job.id))),
    batchJobs,
    batcherQueue: batcherQueue.map(batcherQueueView),
    historical: figures.historical,
    pagination: {
      page: query.page,
      limit: query.limit,
      total: figures.jobsInScope,
      totalPages: Math.ceil(figures.jobsInScope / query.limit),
    },
    polling: pollingView(snapshot.polling),
    window: {
      timeRange: query.timeRange,
      from: snapshot.from.toISOString(),
      to: snapshot.to.toISOString(),
      bucketMs,
    },
  };
}

/** `GET /`: the monitoring view (every figure is defined in services/monitor/README.md). Audited. */
export async function monitoringRoutes(
  app: FastifyInstance,
  options: MonitoringRoutesOptions,
): Promise<void> {
  app.get(
    '/',
    { config: { action: 'monitoring.read' } },
    async (request): Promise<Success<MonitoringData>> => {
      const context = request.monitorContext!;
      const query = parseQuery(MonitoringQuerySchema, request.query);
      const data = await readMonitoring(options, query);
      await auditRead(options.pool, context, 'monitoring.read', { ...query });
      return { success: true, data };
    },
  );
}
