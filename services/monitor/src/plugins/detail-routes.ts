import {
  DbError,
  getBatchJob,
  type OutcomeScope,
  openScopeExport,
  type Pool,
  readBatchJobFigures,
  readErrorSummary,
  readRequestOutcomes,
  readScopeJobType,
  scopeKey,
} from '@batchline/db';
import type { JobTypeSet } from '@batchline/job-types';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-error.ts';
import type { BatchJobFigures, JobBatch, Success } from '../api-schema.ts';
import { jobFiguresView, jobHeaderView } from '../api-views.ts';
import type { DetailData, RequestsData } from '../detail-schema.ts';
import { percent, share } from '../figures.ts';
import { auditRead } from '../request-context.ts';
import { readBatch, readJobBatches, readTimeline } from '../store/batch-jobs.ts';
import {
  EmptyQuerySchema,
  ExportQuerySchema,
  parseQuery,
  parseScopeParameter,
  RequestsQuerySchema,
} from '../validation.ts';

export interface DetailRoutesOptions {
  pool: Pool;
  /** Where an export's landed rows are: the job type's target table. */
  jobTypes: JobTypeSet;
}

const notFound = (scope: OutcomeScope): ApiError =>
  'batchJobId' in scope
    ? new ApiError(404, 'job_not_found', `job ${scope.batchJobId} does not exist`, 'id')
    : new ApiError(404, 'batch_not_found', `batch log ${scope.batchLogId} does not exist`, 'id');

/** Why an export cannot start, as an answer; anything else goes on to the error handler as it is. */
function exportRefusal(error: unknown): unknown {
  if (!(error instanceof DbError)) return error;
  switch (error.code) {
    case 'batch_not_found':
    case 'job_not_found':
      return new ApiError(404, error.code, error.message, 'id');
    case 'job_type_unknown':
    case 'export_table_missing':
      return new ApiError(409, error.code, error.message, 'id');
    default:
      return error;
  }
}

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
async function readTarget(pool: Pool, scope: OutcomeScope) {
  if ('batchJobId' in scope) {
    const job = await getBatchJob(pool, scope.batchJobId);
    if (!job) throw notFound(scope);
    const [figures] = await readBatchJobFigures(pool, [job.id]);
    const batches = (await readJobBatches(pool, [job.id])).get(job.id) ?? [];
    return { job, jobType: job.jobType, figures: jobFiguresView(figures!), batches };
  }
  const found = await readBatch(pool, scope.batchLogId);
  if (!found) throw notFound(scope);
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
    const scope = parseScopeParameter(request.params);
    parseQuery(EmptyQuerySchema, request.query);
    const { job, figures, batches } = await readTarget(pool, scope);
    const errors = await readErrorSummary(pool, scope);
    const timeline = await readTimeline(pool, scope);
    await auditRead(pool, context, 'detail.read', { id: scopeKey(scope) });
    return {
      success: true,
      data: {
        kind: 'batchJobId' in scope ? 'job' : 'batch',
        key: scopeKey(scope),
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
      const scope = parseScopeParameter(request.params);
      const query = parseQuery(RequestsQuerySchema, request.query);
      if ((await readScopeJobType(pool, scope)) === null) throw notFound(scope);
      const { total, requests } = await readRequestOutcomes(pool, scope, {
        outcome: query.outcome,
        errorCode: query.errorCode,
        limit: query.limit,
        offset: (query.page - 1) * query.limit,
      });
      await auditRead(pool, context, 'requests.read', { id: scopeKey(scope), ...query });
      return {
        success: true,
        data: {
          key: scopeKey(scope),
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
    const scope = parseScopeParameter(request.params);
    const query = parseQuery(ExportQuerySchema, request.query);
    const stream = await openScopeExport(pool, jobTypes, { scope, ...query }).catch((error: unknown) => {
      throw exportRefusal(error);
    });
    await auditRead(pool, context, 'export.read', { id: scopeKey(scope), ...query }).catch(
      (error: unknown) => {
        stream.destroy();
        throw error;
      },
    );
    const file = `batchline-${scopeKey(scope)}-${query.what}.${query.format}`;
    return reply
      .type(query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="${file}"`)
      .send(stream);
  });
}
