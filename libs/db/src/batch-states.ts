import { BatchStatus } from '@batchline/domain';
import type { Queryable } from './pool.ts';

/**
 * Where a batch is, as the monitor and every service's batches gauge show it: `pending` (submitted, the provider
 * has not started it), `processing` (the provider works on it, or its results are landing), `completed`,
 * `failed` (final statuses).
 */
export type JobState = 'pending' | 'processing' | 'completed' | 'failed';

/** The state of a `batch_jobs_vp_logs` row aliased `b`, as SQL. */
export const JOB_STATE_SQL = `CASE
    WHEN b.status = ${BatchStatus.completed} THEN 'completed'
    WHEN b.status = ${BatchStatus.failed} THEN 'failed'
    WHEN b.provider_status IS NULL OR b.provider_status = 'validating' THEN 'pending'
    ELSE 'processing' END`;

/** Every batch by state: final ones from the monitor's hourly sums, the others live. */
export async function countBatchesByState(db: Queryable): Promise<Record<JobState, number>> {
  const { rows } = await db.query<{ state: JobState; jobs: number }>(
    `SELECT CASE status WHEN ${BatchStatus.completed} THEN 'completed' ELSE 'failed' END AS state,
            sum(jobs)::int AS jobs
     FROM monitor_hourly_facts GROUP BY 1
     UNION ALL
     SELECT ${JOB_STATE_SQL}, count(*)::int FROM batch_jobs_vp_logs b WHERE b.status = ${BatchStatus.pending}
     GROUP BY 1`,
  );
  const counts: Record<JobState, number> = { pending: 0, processing: 0, completed: 0, failed: 0 };
  for (const row of rows) counts[row.state] += row.jobs;
  return counts;
}
