import type { Queryable } from './pool.ts';

/** What a per-batch change found: the batch is unknown, already final (nothing to change), or changed. */
export type BatchControlResult = 'not_found' | 'final' | 'changed';

/** Pauses or resumes every status check at once. */
export async function setPollingPaused(db: Queryable, paused: boolean, changedBy: string): Promise<void> {
  await db.query('UPDATE polling_control SET paused = $1, changed_at = now(), changed_by = $2', [
    paused,
    changedBy,
  ]);
}

async function updatePendingBatch(
  db: Queryable,
  id: number,
  assignment: string,
  value: unknown,
): Promise<BatchControlResult> {
  const { rows } = await db.query<{ status: number }>(
    `WITH target AS (SELECT id, status FROM batch_jobs_vp_logs WHERE id = $1 FOR UPDATE),
     changed AS (
       UPDATE batch_jobs_vp_logs b SET ${assignment} FROM target WHERE b.id = target.id AND target.status = 1
       RETURNING b.id
     )
     SELECT target.status FROM target`,
    [id, value],
  );
  const row = rows[0];
  if (!row) return 'not_found';
  return row.status === 1 ? 'changed' : 'final';
}

/** Pauses or resumes the status checks of one pending batch. */
export function setBatchPollingPaused(
  db: Queryable,
  id: number,
  paused: boolean,
): Promise<BatchControlResult> {
  return updatePendingBatch(db, id, 'polling_paused = $2::boolean', paused);
}

/** Sets which pending batches the poller checks first (higher first; -100 to 100, default 0). */
export function setBatchPollPriority(
  db: Queryable,
  id: number,
  priority: number,
): Promise<BatchControlResult> {
  return updatePendingBatch(db, id, 'poll_priority = $2::int', priority);
}
