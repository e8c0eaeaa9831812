import { BatchStatus, type ProviderName } from '@batchline/domain';
import type { Queryable } from './pool.ts';

/** How a job came to be. */
export type JobOrigin = 'submit' | 'track' | 'batcher';
/** How a final job ended: every request succeeded, some did, or none did. */
export type JobOutcome = 'succeeded' | 'partially_succeeded' | 'failed';

/** One row of `batch_jobs` (a submission; its parts and retry rounds are batch logs pointing at it). */
export interface BatchJob {
  id: number;
  jobType: string;
  provider: ProviderName;
  model: string | null;
  origin: JobOrigin;
  totalRequests: number;
  /** The retry policy in force when the job was created (its shape is the retry policy's owner's). */
  retryPolicy: Record<string, unknown>;
  outcome: JobOutcome | null;
  finalizedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface BatchJobRow {
  id: string;
  job_type: string;
  provider: ProviderName;
  model: string | null;
  origin: JobOrigin;
  total_requests: number;
  retry_policy: Record<string, unknown>;
  outcome: JobOutcome | null;
  finalized_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const toBatchJob = (row: BatchJobRow): BatchJob => ({
  id: Number(row.id),
  jobType: row.job_type,
  provider: row.provider,
  model: row.model,
  origin: row.origin,
  totalRequests: row.total_requests,
  retryPolicy: row.retry_policy,
  outcome: row.outcome,
  finalizedAt: row.finalized_at,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export interface NewBatchJob {
  jobType: string;
  provider: ProviderName;
  model: string | null;
  origin: JobOrigin;
  totalRequests: number;
  retryPolicy?: Record<string, unknown>;
}

/** Records a new running job; its batches are recorded with `batchJobId` set to the returned id. */
export async function insertBatchJob(db: Queryable, job: NewBatchJob): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO batch_jobs (job_type, provider, model, origin, total_requests, retry_policy)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING id`,
    [
      job.jobType,
      job.provider,
      job.model,
      job.origin,
      job.totalRequests,
      JSON.stringify(job.retryPolicy ?? {}),
    ],
  );
  return Number(rows[0]!.id);
}

export async function getBatchJob(db: Queryable, id: number): Promise<BatchJob | null> {
  const { rows } = await db.query<BatchJobRow>('SELECT * FROM batch_jobs WHERE id = $1', [id]);
  return rows[0] ? toBatchJob(rows[0]) : null;
}

/**
 * A job's figures, read the same way by the CLI, the admin API and the dashboard. A request counts once however many
 * rounds it went through: `succeeded` if any of its outcomes succeeded, `failed` if it has failed and never succeeded
 * (so far: a request out in a live retry round stays `failed` until that round lands it), `unresolved` if it has no
 * outcome yet.
 */
export interface BatchJobFigures {
  batchJobId: number;
  totalRequests: number;
  succeededRequests: number;
  failedRequests: number;
  unresolvedRequests: number;
  batches: number;
  pendingBatches: number;
  /** The highest retry round made so far (0: none). */
  retryRounds: number;
}

/** The figures of each job in `ids` (jobs that do not exist are left out). */
export async function readBatchJobFigures(db: Queryable, ids: readonly number[]): Promise<BatchJobFigures[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{
    id: string;
    total_requests: number;
    succeeded: string;
    failed: string;
    batches: string;
    pending_batches: string;
    retry_rounds: number;
  }>(
    `SELECT j.id, j.total_requests,
            COALESCE(o.succeeded, 0) AS succeeded, COALESCE(o.failed, 0) AS failed,
            COALESCE(b.batches, 0) AS batches, COALESCE(b.pending_batches, 0) AS pending_batches,
            COALESCE(b.retry_rounds, 0) AS retry_rounds
     FROM batch_jobs j
     LEFT JOIN LATERAL (
       SELECT count(*) AS batches, count(*) FILTER (WHERE l.status = ${BatchStatus.pending}) AS pending_batches,
              max(l.retry_round) AS retry_rounds
       FROM batch_jobs_vp_logs l WHERE l.batch_job_id = j.id
     ) b ON true
     LEFT JOIN LATERAL (
       SELECT count(*) FILTER (WHERE r.succeeded) AS succeeded, count(*) FILTER (WHERE NOT r.succeeded) AS failed
       FROM (
         SELECT bool_or(res.outcome = 'succeeded') AS succeeded
         FROM batch_request_results res
         JOIN batch_jobs_vp_logs l ON l.id = res.batch_log_id
         WHERE l.batch_job_id = j.id
         GROUP BY res.custom_id
       ) r
     ) o ON true
     WHERE j.id = ANY($1::bigint[])
     ORDER BY j.id`,
    [ids],
  );
  return rows.map((row) => {
    const succeeded = Number(row.succeeded);
    const failed = Number(row.failed);
    return {
      batchJobId: Number(row.id),
      totalRequests: row.total_requests,
      succeededRequests: succeeded,
      failedRequests: failed,
      unresolvedRequests: Math.max(0, row.total_requests - succeeded - failed),
      batches: Number(row.batches),
      pendingBatches: Number(row.pending_batches),
      retryRounds: row.retry_rounds,
    };
  });
}

/** The most recently created jobs (of `jobType`, created since `createdSince`, if given), newest first. */
export async function listBatchJobs(
  db: Queryable,
  {
    limit,
    jobType = null,
    createdSince = null,
  }: { limit: number; jobType?: string | null; createdSince?: Date | null },
): Promise<BatchJob[]> {
  const { rows } = await db.query<BatchJobRow>(
    `SELECT * FROM batch_jobs WHERE ($2::text IS NULL OR job_type = $2) AND ($3::timestamptz IS NULL OR created_at >= $3)
     ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit, jobType, createdSince],
  );
  return rows.map(toBatchJob);
}
