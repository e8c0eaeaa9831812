import type { Queryable } from '@batchline/db';
import { BatchStatus, type ProviderName } from '@batchline/domain';

/** A batch whose terminal event was published again. */
export interface RedrivenBatch {
  id: number;
  provider: ProviderName;
  batchId: string;
  redriveCount: number;
  /** The msg id of the re-published event (new each time, so JetStream does not drop it as a duplicate). */
  msgId: string;
}

interface RedrivenRow {
  id: string;
  provider: ProviderName;
  batch_id: string;
  redrive_count: number;
  msg_id: string;
}

const REDRIVE_BATCH_SQL = (selection: string) => `
  WITH chosen AS (${selection}),
  bumped AS (
    UPDATE batch_jobs_vp_logs b
    SET redrive_count = b.redrive_count + 1, redriven_at = now()
    FROM chosen WHERE b.id = chosen.id
    RETURNING b.id, b.provider, b.batch_id, b.redrive_count, b.terminal_event
  ),
  published AS (
    INSERT INTO outbox (subject, msg_id, payload, headers)
    SELECT terminal_event->>'subject', (terminal_event->>'msgId') || ':redrive:' || redrive_count,
           terminal_event->'payload', COALESCE(terminal_event->'headers', '{}'::jsonb)
    FROM bumped
    ON CONFLICT (msg_id) DO NOTHING
    RETURNING msg_id
  )
  SELECT bumped.id, bumped.provider, bumped.batch_id, bumped.redrive_count,
         (bumped.terminal_event->>'msgId') || ':redrive:' || bumped.redrive_count AS msg_id
  FROM bumped ORDER BY bumped.id`;

const toRedriven = (row: RedrivenRow): RedrivenBatch => ({
  id: Number(row.id),
  provider: row.provider,
  batchId: row.batch_id,
  redriveCount: row.redrive_count,
  msgId: row.msg_id,
});

/**
 * Drives again the batches that are final at the provider but whose results have not landed `afterMs` after
 * that (a lost or dead-lettered event, a fetcher that gave up): their terminal `batch.status.changed` is
 * re-published through the outbox, with a new msg id; the handlers downstream are idempotent. A batch is driven
 * again at most every `afterMs`, doubling up to 16 times that while it still does not land.
 */
export async function redriveUnlandedBatches(
  db: Queryable,
  { afterMs, limit }: { afterMs: number; limit: number },
): Promise<RedrivenBatch[]> {
  const { rows } = await db.query<RedrivenRow>(
    REDRIVE_BATCH_SQL(`
      SELECT id FROM batch_jobs_vp_logs
      WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NOT NULL AND terminal_event IS NOT NULL
        AND provider_terminal_at < now() - $1::float8 * interval '1 millisecond'
        AND (redriven_at IS NULL
             OR redriven_at < now() - $1::float8 * least(power(2, redrive_count - 1), 16) * interval '1 millisecond')
      ORDER BY provider_terminal_at LIMIT $2
      FOR UPDATE SKIP LOCKED`),
    [afterMs, limit],
  );
  return rows.map(toRedriven);
}

/**
 * Re-publishes one batch's terminal event now (a manual `batchline poll` of a batch already final at the
 * provider). Null when the batch is not waiting for its results (unknown, final, or not terminal at the provider).
 */
export async function redriveBatch(db: Queryable, id: number): Promise<RedrivenBatch | null> {
  const { rows } = await db.query<RedrivenRow>(
    REDRIVE_BATCH_SQL(`
      SELECT id FROM batch_jobs_vp_logs
      WHERE id = $1 AND status = ${BatchStatus.pending} AND provider_terminal_at IS NOT NULL AND terminal_event IS NOT NULL
      FOR UPDATE`),
    [id],
  );
  return rows[0] ? toRedriven(rows[0]) : null;
}

/** A pending batch whose provider status and counts have not moved for too long. */
export interface StuckBatch {
  id: number;
  provider: ProviderName;
  batchId: string;
  providerStatus: string | null;
  /** Since when nothing moved (its last progress, or its submission). */
  stalledSince: Date;
}

/**
 * Marks and returns the pending batches without provider progress for `afterMs` that have not been reported
 * for this stall yet: a batch is reported once per stall, again only after it moved and stalled anew.
 */
export async function claimStuckBatches(
  db: Queryable,
  { afterMs, limit }: { afterMs: number; limit: number },
): Promise<StuckBatch[]> {
  const { rows } = await db.query<{
    id: string;
    provider: ProviderName;
    batch_id: string;
    provider_status: string | null;
    stalled_since: Date;
  }>(
    `WITH stuck AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NULL
         AND COALESCE(progress_at, created_at) < now() - $1::float8 * interval '1 millisecond'
         AND (stuck_alerted_at IS NULL OR stuck_alerted_at < COALESCE(progress_at, created_at))
       ORDER BY COALESCE(progress_at, created_at) LIMIT $2
       FOR UPDATE SKIP LOCKED
     )
     UPDATE batch_jobs_vp_logs b SET stuck_alerted_at = now() FROM stuck WHERE b.id = stuck.id
     RETURNING b.id, b.provider, b.batch_id, b.provider_status, COALESCE(b.progress_at, b.created_at) AS stalled_since`,
    [afterMs, limit],
  );
  return rows
    .map((row) => ({
      id: Number(row.id),
      provider: row.provider,
      batchId: row.batch_id,
      providerStatus: row.provider_status,
      stalledSince: row.stalled_since,
    }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Clears the leases that ran out (their poller died or stalled) so that operators see no stale owner; the
 * batches were already free to be leased again. Returns how many.
 */
export async function releaseExpiredLeases(db: Queryable): Promise<number> {
  const result = await db.query(
    `WITH expired AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE lease_until IS NOT NULL AND lease_until <= now()
       FOR UPDATE SKIP LOCKED
     )
     UPDATE batch_jobs_vp_logs b SET lease_owner = NULL, lease_until = NULL
     FROM expired WHERE b.id = expired.id`,
  );
  return result.rowCount ?? 0;
}

/** A batch whose results landed and whose provider copies are to be deleted. */
export interface ProviderCopies {
  id: number;
  provider: ProviderName;
  batchId: string;
  fileIds: string[];
}

/**
 * Claims batches whose results landed and whose provider copies were not deleted yet (each by one replica).
 * Call `releaseProviderCopies` for one whose deletion failed, so that a later sweep tries again.
 */
export async function claimProviderCopies(db: Queryable, limit: number): Promise<ProviderCopies[]> {
  const { rows } = await db.query<{
    id: string;
    provider: ProviderName;
    batch_id: string;
    input_file_id: string | null;
    output_file_id: string | null;
    error_file_id: string | null;
  }>(
    `WITH landed AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE results_landed_at IS NOT NULL AND provider_files_deleted_at IS NULL
       ORDER BY results_landed_at LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     UPDATE batch_jobs_vp_logs b SET provider_files_deleted_at = now() FROM landed WHERE b.id = landed.id
     RETURNING b.id, b.provider, b.batch_id, b.input_file_id, b.output_file_id, b.error_file_id`,
    [limit],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    provider: row.provider,
    batchId: row.batch_id,
    fileIds: [...new Set([row.input_file_id, row.output_file_id, row.error_file_id])].filter(
      (fileId): fileId is string => fileId !== null,
    ),
  }));
}

export async function releaseProviderCopies(db: Queryable, id: number): Promise<void> {
  await db.query('UPDATE batch_jobs_vp_logs SET provider_files_deleted_at = NULL WHERE id = $1', [id]);
}
