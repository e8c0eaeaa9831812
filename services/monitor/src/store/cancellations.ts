import type { Queryable } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';

/** What a cancellation needs to know of a batch, read under its row lock. */
export interface CancelTarget {
  pending: boolean;
  provider: string;
  batchId: string;
  /** Set once the provider has finished the batch (its results are landing). */
  providerTerminalAt: Date | null;
}

/** Locks a batch's row for the rest of the transaction and reads it; null when unknown. */
export async function lockCancelTarget(db: Queryable, id: number): Promise<CancelTarget | null> {
  const { rows } = await db.query<{
    status: number;
    provider: string;
    batch_id: string;
    provider_terminal_at: Date | null;
  }>(
    'SELECT status, provider, batch_id, provider_terminal_at FROM batch_jobs_vp_logs WHERE id = $1 FOR UPDATE',
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    pending: row.status === BatchStatus.pending,
    provider: row.provider,
    batchId: row.batch_id,
    providerTerminalAt: row.provider_terminal_at,
  };
}

/** Makes a pending batch due for its status check now (unless it is due sooner already). */
export async function makeStatusCheckDue(db: Queryable, id: number): Promise<void> {
  await db.query(
    `UPDATE batch_jobs_vp_logs SET next_poll_at = LEAST(next_poll_at, now())
     WHERE id = $1 AND status = ${BatchStatus.pending}`,
    [id],
  );
}
