import type { Queryable } from '@batchline/db';

/** The job type of a batch log (`batch_jobs_vp_logs.job_type`), or null when there is no such batch log. */
export async function getBatchJobType(db: Queryable, batchLogId: number): Promise<string | null> {
  const { rows } = await db.query<{ job_type: string }>(
    'SELECT job_type FROM batch_jobs_vp_logs WHERE id = $1',
    [batchLogId],
  );
  return rows[0]?.job_type ?? null;
}
