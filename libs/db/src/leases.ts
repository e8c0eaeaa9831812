import type { ProviderName } from '@batchline/domain';
import { redactSecretsIn } from '@batchline/logging';
import type { RequestCounts } from './batch-logs.ts';
import { enqueueOutbox, type OutboxEvent } from './outbox.ts';
import { type Queryable, type TransactionSource, withTransaction } from './pool.ts';

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
}

const LEASED_COLUMNS = `id, provider, batch_id, provider_status, input_file_id, output_file_id, error_file_id,
  poll_attempt, lease_version, created_at, floor(extract(epoch FROM now() - created_at) * 1000)::float8 AS age_ms`;

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
});

export interface LeaseOptions {
  /** Who holds the lease (e.g. host and pid); for operators. */
  owner: string;
  leaseMs: number;
}

/**
 * Leases up to `limit` batches whose status check is due, oldest due first. Several pollers may call this at
 * once: rows another poller is leasing right now are skipped, never handed out twice, and a lease whose time ran
 * out (its holder died or stalled) can be taken over.
 */
export async function leaseDueBatches(
  db: Queryable,
  { owner, limit, leaseMs }: LeaseOptions & { limit: number },
): Promise<LeasedBatch[]> {
  const { rows } = await db.query<LeasedBatchRow>(
    `WITH due AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE status = 1 AND provider_terminal_at IS NULL AND next_poll_at <= now()
         AND (lease_until IS NULL OR lease_until <= now())
       ORDER BY next_poll_at
       LIMIT $2
       FOR UPDATE SKIP LOCKED
     ), leased AS (
       UPDATE batch_jobs_vp_logs b
       SET lease_owner = $1, lease_until = now() + $3::float8 * interval '1 millisecond', lease_version = lease_version + 1
       FROM due WHERE b.id = due.id
       RETURNING b.*
     )
     SELECT ${LEASED_COLUMNS} FROM leased ORDER BY next_poll_at, id`,
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
     WHERE id = $1 AND status = 1
       AND (lease_until IS NULL OR lease_until <= now() OR lease_owner = $2)
     RETURNING ${LEASED_COLUMNS}`,
    [id, owner, leaseMs],
  );
  return rows[0] ? toLeasedBatch(rows[0]) : null;
}

/** What one status check of a leased batch found. */
export interface ProviderCheck {
  id: number;
  /** The lease version the check was made under. */
  leaseVersion: number;
  providerStatus: string;
  requestCounts: RequestCounts | null;
  /** File ids the provider reported; null keeps what is recorded. */
  inputFileId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  /** The batch will not progress further at the provider. */
  terminal: boolean;
  nextPollDelayMs: number;
  /** Merged into `log_details` (e.g. why we ended a batch). */
  logDetails?: Record<string, unknown>;
  /** Published once this write commits, e.g. `batch.status.changed`; none when nothing changed. */
  event?: OutboxEvent | null;
}

/**
 * Writes a status check back and releases the lease, with its event in the same transaction. Returns false,
 * writing nothing, when the lease was lost (taken over after it ran out) or the batch is already final.
 */
export async function recordProviderCheck(db: TransactionSource, check: ProviderCheck): Promise<boolean> {
  return withTransaction(db, async (client) => {
    const result = await client.query(
      `UPDATE batch_jobs_vp_logs
       SET provider_status = $3,
           request_counts = $4::jsonb,
           input_file_id = COALESCE($5, input_file_id),
           output_file_id = COALESCE($6, output_file_id),
           error_file_id = COALESCE($7, error_file_id),
           provider_terminal_at = CASE WHEN $8::boolean THEN COALESCE(provider_terminal_at, now()) ELSE provider_terminal_at END,
           poll_attempt = poll_attempt + 1,
           next_poll_at = now() + $9::float8 * interval '1 millisecond',
           log_details = CASE WHEN $10::jsonb IS NULL THEN log_details
                              ELSE COALESCE(log_details, '{}'::jsonb) || $10::jsonb END,
           lease_owner = NULL,
           lease_until = NULL,
           last_poll_error = NULL,
           last_poll_error_at = NULL
       WHERE id = $1 AND lease_version = $2 AND status = 1`,
      [
        check.id,
        check.leaseVersion,
        check.providerStatus,
        check.requestCounts === null ? null : JSON.stringify(check.requestCounts),
        check.inputFileId,
        check.outputFileId,
        check.errorFileId,
        check.terminal,
        check.nextPollDelayMs,
        check.logDetails === undefined ? null : JSON.stringify(check.logDetails),
      ],
    );
    if (result.rowCount !== 1) return false;
    if (check.event) await enqueueOutbox(client, check.event);
    return true;
  });
}

/**
 * Releases the lease after a failed status check and sets when to try again. Returns false when the lease was
 * lost. The error text is stored for operators, with secrets masked.
 */
export async function rescheduleBatch(
  db: Queryable,
  {
    id,
    leaseVersion,
    nextPollDelayMs,
    lastError,
  }: { id: number; leaseVersion: number; nextPollDelayMs: number; lastError: string },
): Promise<boolean> {
  const result = await db.query(
    `UPDATE batch_jobs_vp_logs
     SET next_poll_at = now() + $3::float8 * interval '1 millisecond',
         lease_owner = NULL,
         lease_until = NULL,
         last_poll_error = $4,
         last_poll_error_at = now()
     WHERE id = $1 AND lease_version = $2 AND status = 1`,
    [id, leaseVersion, nextPollDelayMs, redactSecretsIn(lastError)],
  );
  return result.rowCount === 1;
}
