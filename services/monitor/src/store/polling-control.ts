import type { Queryable } from '@batchline/db';
import { BatchStatus, type ProviderName } from '@batchline/domain';

/** What a per-batch change found: the batch is unknown, already final (nothing to change), or changed. */
export type BatchControlResult = 'not_found' | 'final' | 'changed';

export interface PollingState {
  paused: boolean;
  changedAt: Date;
  changedBy: string | null;
  /** Pending batches whose own polling is paused. */
  pausedBatches: number;
}

export async function getPollingState(db: Queryable): Promise<PollingState> {
  const { rows } = await db.query<PollingState>(
    `SELECT c.paused, c.changed_at AS "changedAt", c.changed_by AS "changedBy",
            (SELECT count(*)::int FROM batch_jobs_vp_logs WHERE status = ${BatchStatus.pending} AND polling_paused)
              AS "pausedBatches"
     FROM polling_control c`,
  );
  return rows[0]!;
}

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
       UPDATE batch_jobs_vp_logs b SET ${assignment} FROM target
       WHERE b.id = target.id AND target.status = ${BatchStatus.pending}
       RETURNING b.id
     )
     SELECT target.status FROM target`,
    [id, value],
  );
  const row = rows[0];
  if (!row) return 'not_found';
  return row.status === BatchStatus.pending ? 'changed' : 'final';
}

/** Pauses or resumes the status checks of one pending batch. */
export function setBatchPollingPaused(
  db: Queryable,
  id: number,
  paused: boolean,
): Promise<BatchControlResult> {
  return updatePendingBatch(db, id, 'polling_paused = $2::boolean', paused);
}

/**
 * Pauses or resumes the status checks of every pending batch of `provider` (batches it submits later are not
 * paused). Returns how many pending batches it applies to.
 */
export async function setProviderBatchesPollingPaused(
  db: Queryable,
  provider: ProviderName,
  paused: boolean,
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE batch_jobs_vp_logs SET polling_paused = $2
     WHERE provider = $1 AND status = ${BatchStatus.pending}`,
    [provider, paused],
  );
  return rowCount ?? 0;
}

/** Sets which pending batches the poller checks first (higher first; -100 to 100, default 0). */
export function setBatchPollPriority(
  db: Queryable,
  id: number,
  priority: number,
): Promise<BatchControlResult> {
  return updatePendingBatch(db, id, 'poll_priority = $2::int', priority);
}
