import {
  getBatchJob,
  type OutcomeScope,
  openExport,
  type Pool,
  readBatchJobFigures,
  readErrorSummary,
  readRequestOutcomes,
} from '@batchline/db';
import type { JobTypeSet } from '@batchline/job-types';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-error.ts';
import type { BatchJobFigures, JobBatch, Success } from '../api-schema.ts';
import { jobFiguresView, jobHeaderView, jobKey } from '../api-views.ts';
import type { DetailData, RequestsData } from '../detail-schema.ts';
import { percent, share } from '../figures.ts';
import { auditRead } from '../request-context.ts';
import { readBatch, readJobBatches, readTimeline } from '../store/batch-jobs.ts';
import {
  EmptyQuerySchema,
  ExportQuerySchema,
  type MonitorTarget,
  parseMonitorTarget,
  parseQuery,
  RequestsQuerySchema,
} from '../validation.ts';

export interface DetailRoutesOptions {
  pool: Pool;
  /** Where an export's landed rows are: the job type's target table. */
  jobTypes: JobTypeSet;
}

const keyOf = (target: MonitorTarget): string =>
  target.kind === 'job' ? jobKey(target.id) : String(target.id);

const scopeOf = (target: MonitorTarget): OutcomeScope =>
  target.kind === 'job' ? { batchJobId: target.id } : { batchLogId: target.id };

const notFound = (target: MonitorTarget): ApiError =>
  target.kind === 'job'
    ? new ApiError(404, 'job_not_found', `job ${target.id} does not exist`, 'id')
    : new ApiError(404, 'batch_not_found', `batch log ${target.id} does not exist`, 'id');

/** A batch's own figures, shaped as a job's (one batch; its round is its retry round). */
const batchFigures = (batch: JobBatch): BatchJobFigures => ({
  totalRequests: batch.requestCount,
  succeededRequests: batch.completedCount,
  failedRequests: batch.failedCount,
  unresolvedRequests: Math.max(0, batch.requestCount - batch.completedCount - batch.failedCount),
  batches: 1,
  pendingBatches: batch.status === 'pending' || batch.status === 'processing' ? 1 : 0,
  retryRounds: batch.retryRound,
});

/** The job or batch named, with its figures and batches and the job type its rows belong to; 404 if unknown. */
async function readTarget(pool: Pool, target: MonitorTarget) {
  if (target.kind === 'job') {
    const job = await getBatchJob(pool, target.id);
    if (!job) throw notFound(target);
    const [figures] = await readBatchJobFigures(pool, [job.id]);
    const batches = (await readJobBatches(pool, [job.id])).get(job.id) ?? [];
    return { job, jobType: job.jobType, figures: jobFiguresView(figures!), batches };
  }
  const found = await readBatch(pool, target.id);
  if (!found) throw notFound(target);
  const job = found.batchJobId === null ? null : await getBatchJob(pool, found.batchJobId);
  return { job, jobType: found.jobType, figures: batchFigures(found.batch), batches: [found.batch] };
}

/**
 * The read routes on one batch or job (issue 15): its detail, its request outcomes page by page, and an export of
 * its outcomes or landed rows streamed straight from Postgres. Each read is audited.
 */
export async function detailRoutes(
  app: FastifyInstance,
  { pool, jobTypes }: DetailRoutesOptions,
): Promise<void> {
  app.get('/:id', { config: { action: 'detail.read' } }, async (request): Promise<Success<DetailData>> => {
    const context = request.monitorContext!;
    const target = parseMonitorTarget(request.params);
    parseQuery(EmptyQuerySchema, request.query);
    const { job, figures, batches } = await readTarget(pool, target);
    const scope = scopeOf(target);
    const errors = await readErrorSummary(pool, scope);
    const timeline = await readTimeline(pool, scope);
    await auditRead(pool, context, 'detail.read', { id: keyOf(target) });
    return {
      success: true,
      data: {
        kind: target.kind,
        key: keyOf(target),
        job: job ? jobHeaderView(job) : null,
        figures,
        batches,
        errorSummary: errors.map((entry) => ({
          error: entry.errorCode,
          count: entry.requests,
          percentage: percent(share(entry.requests, figures.totalRequests)),
        })),
        timeline,
      },
    };
  });

  app.get(
    '/:id/requests',
    { config: { action: 'requests.read' } },
    async (request): Promise<Success<RequestsData>> => {
      const context = request.monitorContext!;
      const target = parseMonitorTarget(request.params);
      const query = parseQuery(RequestsQuerySchema, request.query);
      await readTarget(pool, target);
      const { total, requests } = await readRequestOutcomes(pool, scopeOf(target), {
        outcome: query.outcome,
        errorCode: query.errorCode,
        limit: query.limit,
        offset: (query.page - 1) * query.limit,
      });
      await auditRead(pool, context, 'requests.read', { id: keyOf(target), ...query });
      return {
        success: true,
        data: {
          key: keyOf(target),
          requests: requests.map((outcome) => ({ ...outcome, landedAt: outcome.landedAt.toISOString() })),
          pagination: {
            page: query.page,
            limit: query.limit,
            total,
            totalPages: Math.ceil(total / query.limit),
          },
        },
      };
    },
  );

  app.get('/:id/export', { config: { action: 'export.read' } }, async (request, reply) => {
    const context = request.monitorContext!;
    const target = parseMonitorTarget(request.params);
    const query = parseQuery(ExportQuerySchema, request.query);
    const { jobType } = await readTarget(pool, target);
    const declared = jobTypes.get(jobType) ?? null;
    if (declared === null && query.what === 'rows') {
      throw new ApiError(
        409,
        'job_type_unknown',
        `job type ${jobType} is not declared here, so its target table is unknown`,
        'id',
      );
    }
    const stream = await openExport(pool, {
      scope: scopeOf(target),
      what: query.what,
      format: query.format,
      target: declared?.target ?? null,
    });
    await auditRead(pool, context, 'export.read', { id: keyOf(target), ...query }).catch((error: unknown) => {
      stream.destroy();
      throw error;
    });
    const file = `batchline-${keyOf(target)}-${query.what}.${query.format}`;
    return reply
      .type(query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="${file}"`)
      .send(stream);
  });
}
