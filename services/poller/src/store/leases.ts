import type { Queryable } from '@batchline/db';
import { BatchStatus, type ProviderName } from '@batchline/domain';

/** A batch a poller may check now; `leaseVersion` fences its write-back. */
export interface LeasedBatch {
  id: number;
  provider: ProviderName;
  batchId: string;
  providerStatus: string | null;
  inputFileId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  pollAttempt: number;
  leaseVersion: number;
  createdAt: Date;
  /** Age by the database clock, so a skewed poller clock cannot expire a batch early. */
  ageMs: number;
  /** How long after falling due it was leased (0 for a batch leased before it was due), database clock. */
  dueDelayMs: number;
  /** Set once the provider reported a terminal status (a manual re-check may still lease the batch). */
  providerTerminalAt: Date | null;
  /** Failed checks in a row. */
  pollErrors: number;
  /** Set while a 404 awaits its confirming re-check. */
  notFoundAt: Date | null;
  /** How long ago the poller asked the provider to cancel this batch (past BATCH_MAX_AGE); null if it did not. */
  cancelRequestedAgoMs: number | null;
}

interface LeasedBatchRow {
  id: string;
  provider: ProviderName;
  batch_id: string;
  provider_status: string | null;
  input_file_id: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  poll_attempt: number;
  lease_version: string;
  created_at: Date;
  age_ms: number;
  due_delay_ms: number;
  provider_terminal_at: Date | null;
  poll_errors: number;
  not_found_at: Date | null;
  cancel_requested_ago_ms: number | null;
}

const LEASED_COLUMNS = `id, provider, batch_id, provider_status, input_file_id, output_file_id, error_file_id,
  poll_attempt, lease_version, created_at, floor(extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms,
  greatest(0, extract(epoch FROM now() - next_poll_at) * 1000)::float8 AS due_delay_ms, provider_terminal_at,
  poll_errors, not_found_at,
  floor(extract(epoch FROM now() - cancel_requested_at) * 1000)::float8 AS cancel_requested_ago_ms`;

const toLeasedBatch = (row: LeasedBatchRow): LeasedBatch => ({
  id: Number(row.id),
  provider: row.provider,
  batchId: row.batch_id,
  providerStatus: row.provider_status,
  inputFileId: row.input_file_id,
  outputFileId: row.output_file_id,
  errorFileId: row.error_file_id,
  pollAttempt: row.poll_attempt,
  leaseVersion: Number(row.lease_version),
  createdAt: row.created_at,
  ageMs: row.age_ms,
  dueDelayMs: row.due_delay_ms,
  providerTerminalAt: row.provider_terminal_at,
  pollErrors: row.poll_errors,
  notFoundAt: row.not_found_at,
  cancelRequestedAgoMs: row.cancel_requested_ago_ms,
});

/**
 * A batch a poller may lease once it is due: pending and not final at the provider, not leased by another
 * poller, and held back neither by a pause of its own, of all polling, nor of its provider (a rate limit, or a
 * failure only a successful probe ends).
 */
const LEASABLE = `status = ${BatchStatus.pending} AND provider_terminal_at IS NULL
  AND (lease_until IS NULL OR lease_until <= now())
  AND NOT polling_paused
  AND NOT EXISTS (SELECT 1 FROM polling_control WHERE paused)
  AND NOT EXISTS (SELECT 1 FROM provider_pauses p
                  WHERE p.provider = batch_jobs_vp_logs.provider AND (p.needs_probe OR p.paused_until > now()))`;

export interface LeaseOptions {
  /** Who holds the lease (e.g. host and pid); for operators. */
  owner: string;
  leaseMs: number;
}

/**
 * Leases up to `limit` leasable batches whose status check is due: the highest `poll_priority` first, then the
 * oldest due. Several pollers may call this at once: rows another poller is leasing right now are skipped, never
 * handed out twice, and a lease whose time ran out (its holder died or stalled) can be taken over.
 */
export async function leaseDueBatches(
  db: Queryable,
  { owner, limit, leaseMs }: LeaseOptions & { limit: number },
): Promise<LeasedBatch[]> {
  const { rows } = await db.query<LeasedBatchRow>(
    `WITH due AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE ${LEASABLE} AND next_poll_at <= now()
       ORDER BY poll_priority DESC, next_poll_at
       LIMIT $2
       FOR UPDATE SKIP LOCKED
     ), leased AS (
       UPDATE batch_jobs_vp_logs b
       SET lease_owner = $1, lease_until = now() + $3::float8 * interval '1 millisecond', lease_version = lease_version + 1
       FROM due WHERE b.id = due.id
       RETURNING b.*
     )
     SELECT ${LEASED_COLUMNS} FROM leased ORDER BY poll_priority DESC, next_poll_at, id`,
    [owner, limit, leaseMs],
  );
  return rows.map(toLeasedBatch);
}

/**
 * Leases one batch whether or not its check is due (a manual `batchline poll`). Null when the batch is final,
 * unknown, or leased by another owner whose lease has not run out.
 */
export async function leaseBatch(
  db: Queryable,
  id: number,
  { owner, leaseMs }: LeaseOptions,
): Promise<LeasedBatch | null> {
  const { rows } = await db.query<LeasedBatchRow>(
    `UPDATE batch_jobs_vp_logs
     SET lease_owner = $2, lease_until = now() + $3::float8 * interval '1 millisecond', lease_version = lease_version + 1
     WHERE id = $1 AND status = ${BatchStatus.pending}
       AND (lease_until IS NULL OR lease_until <= now() OR lease_owner = $2)
     RETURNING ${LEASED_COLUMNS}`,
    [id, owner, leaseMs],
  );
  return rows[0] ? toLeasedBatch(rows[0]) : null;
}

/**
 * How long until the next batch this poller could lease falls due (negative when one is due already but held
 * by another poller's lease query right now), or null when none is waiting. Lets an idle poller sleep exactly
 * until then instead of a whole tick.
 */
export async function nextDueDelayMs(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ delay_ms: number | null }>(
    `SELECT (extract(epoch FROM min(next_poll_at) - now()) * 1000)::float8 AS delay_ms
     FROM batch_jobs_vp_logs
     WHERE ${LEASABLE}`,
  );
  return rows[0]?.delay_ms ?? null;
}

/**
 * Makes a pending batch due now (a webhook said it changed, or an operator asked). Returns its batch log id, or
 * null when no pending batch has that provider batch id.
 */
export async function makeBatchDueNow(
  db: Queryable,
  provider: ProviderName,
  providerBatchId: string,
): Promise<number | null> {
  const { rows } = await db.query<{ id: string }>(
    `UPDATE batch_jobs_vp_logs SET next_poll_at = now()
     WHERE provider = $1 AND batch_id = $2 AND status = ${BatchStatus.pending} AND provider_terminal_at IS NULL
     RETURNING id`,
    [provider, providerBatchId],
  );
  return rows[0] ? Number(rows[0].id) : null;
}

/** Makes every pending batch that is not final at the provider due now (an operator's `batchline poll`). */
export async function makePendingBatchesDueNow(db: Queryable): Promise<void> {
  await db.query(
    `UPDATE batch_jobs_vp_logs SET next_poll_at = now()
     WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NULL AND next_poll_at > now()`,
  );
}
