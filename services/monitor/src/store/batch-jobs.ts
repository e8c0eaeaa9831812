import {
  type BatchJob as BatchJobRow,
  JOB_STATE_SQL,
  type OutcomeScope,
  type Queryable,
  readBatchJobFigures,
  scopeBatchLogsSql,
} from '@batchline/db';
import type { BatchJob, JobBatch } from '../api-schema.ts';
import { batchJobView } from '../api-views.ts';
import type { TimelineEntry } from '../detail-schema.ts';

/** The columns of a JobBatch, from a `batch_jobs_vp_logs` row aliased `b`. */
const JOB_BATCH_COLUMNS = `b.id::float8 AS id, b.batch_id AS "batchId", ${JOB_STATE_SQL} AS status,
  b.provider_status AS "providerStatus", b.part_index AS "partIndex", b.retry_round AS "retryRound",
  b.parent_batch_log_id::float8 AS "retryOf", b.total_sentences AS "requestCount",
  b.processed_sentences AS "completedCount", b.failed_sentences AS "failedCount",
  b.created_at AS "createdAt", b.batch_job_id::float8 AS "batchJobId", b.job_type AS "jobType"`;

/** Parts first (in order), then retry rounds in the order they were made (as `listJobBatchLogs`). */
const JOB_BATCH_ORDER = 'b.retry_round, b.part_index NULLS LAST, b.created_at, b.id';

type JobBatchRow = Omit<JobBatch, 'createdAt'> & {
  createdAt: Date;
  batchJobId: number | null;
  jobType: string;
};

const jobBatchOf = ({ batchJobId: _, jobType: __, createdAt, ...batch }: JobBatchRow): JobBatch => ({
  ...batch,
  createdAt: createdAt.toISOString(),
});

/** The batches of each job in `ids`, by job id. */
export async function readJobBatches(
  db: Queryable,
  ids: readonly number[],
): Promise<Map<number, JobBatch[]>> {
  const byJob = new Map<number, JobBatch[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return byJob;
  const { rows } = await db.query<JobBatchRow>(
    `SELECT ${JOB_BATCH_COLUMNS} FROM batch_jobs_vp_logs b WHERE b.batch_job_id = ANY($1::bigint[])
     ORDER BY ${JOB_BATCH_ORDER}`,
    [ids],
  );
  for (const row of rows) byJob.get(row.batchJobId!)?.push(jobBatchOf(row));
  return byJob;
}

/** Jobs with their figures and batches, as the admin API shows them. */
export async function readBatchJobViews(db: Queryable, jobs: readonly BatchJobRow[]): Promise<BatchJob[]> {
  const ids = jobs.map((job) => job.id);
  const figures = new Map((await readBatchJobFigures(db, ids)).map((row) => [row.batchJobId, row]));
  const batches = await readJobBatches(db, ids);
  return jobs.map((job) => batchJobView(job, figures.get(job.id)!, batches.get(job.id) ?? []));
}

/** One batch as a job lists it, and the job it belongs to; null when the batch log does not exist. */
export async function readBatch(
  db: Queryable,
  id: number,
): Promise<{ batch: JobBatch; batchJobId: number | null; jobType: string } | null> {
  const { rows } = await db.query<JobBatchRow>(
    `SELECT ${JOB_BATCH_COLUMNS} FROM batch_jobs_vp_logs b WHERE b.id = $1`,
    [id],
  );
  const row = rows[0];
  return row ? { batch: jobBatchOf(row), batchJobId: row.batchJobId, jobType: row.jobType } : null;
}

/**
 * What the tables record of a scope's life, oldest first: its job created and finalized (job scope), each batch
 * created (part or retry round), started, ended at the provider, cancel asked, results landed, announced; each
 * retry asked and submitted; and each action taken on it through the admin API (the audit log; reads left out).
 * The provider's intermediate statuses are not kept (only the last one), so they do not appear.
 */
export async function readTimeline(db: Queryable, scope: OutcomeScope): Promise<TimelineEntry[]> {
  const batches = scopeBatchLogsSql(scope);
  const jobId = 'batchJobId' in scope ? scope.batchJobId : null;
  const { rows } = await db.query<{
    at: Date;
    event: string;
    batch_log_id: string | null;
    detail: string | null;
  }>(
    `WITH scoped AS (SELECT b.* FROM batch_jobs_vp_logs b WHERE b.id IN (${batches}))
     SELECT * FROM (
       SELECT created_at AS at, 'job.created' AS event, NULL::bigint AS batch_log_id,
              origin || ', ' || total_requests || ' requests' AS detail
       FROM batch_jobs WHERE id = $1
       UNION ALL
       SELECT finalized_at, 'job.finalized', NULL, outcome FROM batch_jobs WHERE id = $1 AND finalized_at IS NOT NULL
       UNION ALL
       SELECT created_at, 'batch.created', id,
              CASE WHEN retry_round > 0 THEN 'retry round ' || retry_round || ' of batch ' || parent_batch_log_id
                   WHEN part_index IS NOT NULL THEN 'part ' || part_index ELSE NULL END
       FROM scoped
       UNION ALL
       SELECT provider_started_at, 'batch.started', id, NULL FROM scoped WHERE provider_started_at IS NOT NULL
       UNION ALL
       SELECT cancel_requested_at, 'batch.cancel_requested', id, NULL FROM scoped
       WHERE cancel_requested_at IS NOT NULL
       UNION ALL
       SELECT provider_terminal_at, 'batch.provider_ended', id, provider_status FROM scoped
       WHERE provider_terminal_at IS NOT NULL
       UNION ALL
       SELECT results_landed_at, 'batch.results_landed', id,
              processed_sentences || ' succeeded, ' || failed_sentences || ' failed'
       FROM scoped WHERE results_landed_at IS NOT NULL
       UNION ALL
       SELECT final_notified_at, 'batch.notified', id, NULL FROM scoped WHERE final_notified_at IS NOT NULL
       UNION ALL
       SELECT r.requested_at, 'retry.requested', r.original_batch_log_id, 'by ' || r.requested_by
       FROM batch_retries r WHERE r.original_batch_log_id IN (SELECT id FROM scoped)
       UNION ALL
       SELECT r.submitted_at, 'retry.submitted', r.original_batch_log_id,
              'as batch ' || r.retry_batch_log_id || ', ' || r.requests || ' requests'
       FROM batch_retries r WHERE r.original_batch_log_id IN (SELECT id FROM scoped) AND r.submitted_at IS NOT NULL
       UNION ALL
       SELECT a.at, 'audit.' || a.action,
              CASE WHEN a.target ~ '^[0-9]{1,15}$' THEN a.target::bigint END, 'by ' || a.actor
       FROM audit_log a
       WHERE a.outcome = 'success' AND a.action NOT LIKE '%.read'
         AND (a.target IN (SELECT id::text FROM scoped) OR a.target = 'job-' || $1::text)
     ) t ORDER BY at, event, batch_log_id`,
    [jobId],
  );
  return rows.map((row) => ({
    at: row.at.toISOString(),
    event: row.event,
    batchLogId: row.batch_log_id === null ? null : Number(row.batch_log_id),
    detail: row.detail,
  }));
}
