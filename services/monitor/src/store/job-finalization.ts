import { enqueueOutbox, type JobOutcome, type Queryable, readBatchJobFigures } from '@batchline/db';
import { BatchStatus, type ProviderName } from '@batchline/domain';
import { JOB_FINALIZED_VERSION, type JobFinalizedEvent, Subjects, validateEvent } from '@batchline/events';

/** How many of the most frequent final error codes `job.finalized` carries. */
const TOP_ERROR_COUNT = 5;

/** A job's row, locked for the retrier's decisions (one decision at a time per job, across replicas). */
export interface LockedJob {
  id: number;
  jobType: string;
  provider: ProviderName;
  model: string | null;
  retryPolicy: Record<string, unknown>;
  finalized: boolean;
  createdAt: Date;
}

export async function lockJob(db: Queryable, batchJobId: number): Promise<LockedJob | null> {
  const { rows } = await db.query<{
    id: string;
    job_type: string;
    provider: ProviderName;
    model: string | null;
    retry_policy: Record<string, unknown>;
    finalized_at: Date | null;
    created_at: Date;
  }>('SELECT * FROM batch_jobs WHERE id = $1 FOR UPDATE', [batchJobId]);
  const row = rows[0];
  if (!row) return null;
  return {
    id: Number(row.id),
    jobType: row.job_type,
    provider: row.provider,
    model: row.model,
    retryPolicy: row.retry_policy,
    finalized: row.finalized_at !== null,
    createdAt: row.created_at,
  };
}

/** The most frequent error codes of the job's requests that finally failed (their latest outcome's code). */
async function topFinalErrors(db: Queryable, batchJobId: number): Promise<JobFinalizedEvent['topErrors']> {
  const { rows } = await db.query<{ code: string; count: string }>(
    `SELECT code, count(*) AS count FROM (
       SELECT DISTINCT ON (r.custom_id) r.custom_id, COALESCE(r.error_code, 'unknown') AS code
       FROM batch_request_results r JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id
       WHERE l.batch_job_id = $1
         AND NOT EXISTS (
           SELECT 1 FROM batch_request_results s JOIN batch_jobs_vp_logs sl ON sl.id = s.batch_log_id
           WHERE sl.batch_job_id = $1 AND s.custom_id = r.custom_id AND s.outcome = 'succeeded')
       ORDER BY r.custom_id, r.batch_log_id DESC
     ) finally_failed
     GROUP BY code ORDER BY count(*) DESC, code LIMIT ${TOP_ERROR_COUNT}`,
    [batchJobId],
  );
  return rows.map((row) => ({ code: row.code, count: Number(row.count) }));
}

export const jobOutcome = (succeeded: number, notSucceeded: number): JobOutcome => {
  if (notSucceeded === 0) return 'succeeded';
  return succeeded === 0 ? 'failed' : 'partially_succeeded';
};

/**
 * Marks the job (locked by the caller) final once it has no pending batch and no planned retry round, and writes
 * its `job.finalized` event to the outbox in the same transaction. Returns the event, or null when the job is not
 * done or was finalized before.
 */
export async function finalizeJobIfDone(db: Queryable, job: LockedJob): Promise<JobFinalizedEvent | null> {
  if (job.finalized) return null;
  const { rows: open } = await db.query<{ open: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM batch_jobs_vp_logs WHERE batch_job_id = $1 AND status = ${BatchStatus.pending})
         OR EXISTS (SELECT 1 FROM batch_retry_rounds WHERE batch_job_id = $1 AND state = 'planned') AS open`,
    [job.id],
  );
  if (open[0]!.open) return null;
  const [figures] = await readBatchJobFigures(db, [job.id]);
  if (!figures) return null;
  const outcome = jobOutcome(figures.succeededRequests, figures.failedRequests + figures.unresolvedRequests);
  const { rows } = await db.query<{ finalized_at: Date }>(
    `UPDATE batch_jobs SET outcome = $2, finalized_at = now(), updated_at = now()
     WHERE id = $1 AND finalized_at IS NULL RETURNING finalized_at`,
    [job.id, outcome],
  );
  const marked = rows[0];
  if (!marked) return null;
  const event = validateEvent(Subjects.jobFinalized, {
    version: JOB_FINALIZED_VERSION,
    batchJobId: job.id,
    jobType: job.jobType,
    provider: job.provider,
    model: job.model,
    outcome,
    totalRequests: figures.totalRequests,
    succeededRequests: figures.succeededRequests,
    failedRequests: figures.failedRequests + figures.unresolvedRequests,
    batches: figures.batches,
    retryRounds: figures.retryRounds,
    topErrors: await topFinalErrors(db, job.id),
    createdAt: job.createdAt.toISOString(),
    finalizedAt: marked.finalized_at.toISOString(),
  });
  await enqueueOutbox(db, {
    subject: Subjects.jobFinalized,
    msgId: `job-finalized:${job.id}`,
    payload: event,
  });
  return event;
}
