import type { Queryable } from '@batchline/db';

/** A job type's batcher controls: paused, and the last "batch now" asked for. */
export interface BatcherControl {
  paused: boolean;
  flushRequestedAt: Date | null;
}

/** Every job type's controls (job types without a row are running, with no "batch now"). */
export async function readControls(db: Queryable): Promise<Map<string, BatcherControl>> {
  const { rows } = await db.query<{ job_type: string; paused: boolean; flush_requested_at: Date | null }>(
    'SELECT job_type, paused, flush_requested_at FROM batcher_controls',
  );
  return new Map(
    rows.map((row) => [row.job_type, { paused: row.paused, flushRequestedAt: row.flush_requested_at }]),
  );
}

/** Pauses or resumes making a job type's batches (its queue is kept either way). */
export async function setPaused(db: Queryable, jobType: string, paused: boolean): Promise<void> {
  await db.query(
    `INSERT INTO batcher_controls (job_type, paused) VALUES ($1, $2)
     ON CONFLICT (job_type) DO UPDATE SET paused = $2, updated_at = now()`,
    [jobType, paused],
  );
}

/** Asks for a batch of everything the job type has queued now, at the next tick, whatever its size. */
export async function requestFlush(db: Queryable, jobType: string): Promise<void> {
  await db.query(
    `INSERT INTO batcher_controls (job_type, flush_requested_at) VALUES ($1, now())
     ON CONFLICT (job_type) DO UPDATE SET flush_requested_at = now(), updated_at = now()`,
    [jobType],
  );
}
