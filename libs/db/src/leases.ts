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

export interface LeaseOptions {
  /** Who holds the lease (e.g. host and pid); for operators. */
  owner: string;
  leaseMs: number;
}

/**
 * Leases up to `limit` batches whose status check is due: the highest `poll_priority` first, then the oldest
 * due. Batches whose polling is paused, or every batch while polling is paused as a whole, are left alone, and
 * so are the batches of a paused provider (a rate limit, or a failure only a successful probe ends). Several pollers may call this at once: rows another poller is leasing right now are skipped, never handed out
 * twice, and a lease whose time ran out (its holder died or stalled) can be taken over.
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
         AND NOT polling_paused
         AND NOT EXISTS (SELECT 1 FROM polling_control WHERE paused)
         AND NOT EXISTS (SELECT 1 FROM provider_pauses p
                         WHERE p.provider = batch_jobs_vp_logs.provider AND (p.needs_probe OR p.paused_until > now()))
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
  /** Set when the poller has just asked the provider to cancel the batch (past BATCH_MAX_AGE). */
  cancelRequested?: boolean;
}

/**
 * Writes a status check back and releases the lease, with its event in the same transaction. Returns false,
 * writing nothing, when the lease was lost (taken over after it ran out) or the batch is already final.
 * Once the provider was seen terminal, a later non-terminal answer (a stale read) does not take the recorded
 * status back; the terminal event is kept on the row so that a sweep can drive the batch again.
 */
export async function recordProviderCheck(db: TransactionSource, check: ProviderCheck): Promise<boolean> {
  return withTransaction(db, async (client) => {
    const result = await client.query(
      `UPDATE batch_jobs_vp_logs
       SET provider_status = CASE WHEN provider_terminal_at IS NOT NULL AND NOT $8::boolean THEN provider_status
                                  ELSE $3 END,
           request_counts = CASE WHEN provider_terminal_at IS NOT NULL AND NOT $8::boolean THEN request_counts
                                 ELSE $4::jsonb END,
           progress_at = CASE WHEN provider_status IS DISTINCT FROM $3 OR request_counts IS DISTINCT FROM $4::jsonb
                              THEN now() ELSE progress_at END,
           terminal_event = CASE WHEN $8::boolean AND $11::jsonb IS NOT NULL THEN COALESCE(terminal_event, $11::jsonb)
                                 ELSE terminal_event END,
           cancel_requested_at = CASE WHEN $12::boolean THEN COALESCE(cancel_requested_at, now())
                                      ELSE cancel_requested_at END,
           last_checked_at = now(),
           last_checked_by = lease_owner,
           poll_errors = 0,
           not_found_at = NULL,
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
        check.terminal && check.event ? JSON.stringify(check.event) : null,
        check.cancelRequested ?? false,
      ],
    );
    if (result.rowCount !== 1) return false;
    if (check.event) await enqueueOutbox(client, check.event);
    return true;
  });
}

/** A status check that did not get an answer to record, and when to try again. */
export interface FailedCheck {
  id: number;
  leaseVersion: number;
  nextPollDelayMs: number;
  lastError: string;
  /**
   * Whether it counts as a failure of this batch's checks (growing its backoff). A check held back by a pause
   * of the whole provider does not. Default true.
   */
  countsAsFailure?: boolean;
  /** The provider answered 404: the batch awaits a confirming re-check. */
  notFound?: boolean;
  /** The poller has just asked the provider to cancel the batch (past BATCH_MAX_AGE). */
  cancelRequested?: boolean;
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
    countsAsFailure = true,
    notFound = false,
    cancelRequested = false,
  }: FailedCheck,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE batch_jobs_vp_logs
     SET next_poll_at = now() + $3::float8 * interval '1 millisecond',
         lease_owner = NULL,
         lease_until = NULL,
         last_poll_error = $4,
         last_poll_error_at = now(),
         last_checked_at = now(),
         last_checked_by = lease_owner,
         poll_errors = poll_errors + CASE WHEN $5::boolean THEN 1 ELSE 0 END,
         not_found_at = CASE WHEN $6::boolean THEN COALESCE(not_found_at, now())
                             WHEN $5::boolean THEN NULL ELSE not_found_at END,
         cancel_requested_at = CASE WHEN $7::boolean THEN COALESCE(cancel_requested_at, now())
                                    ELSE cancel_requested_at END
     WHERE id = $1 AND lease_version = $2 AND status = 1`,
    [
      id,
      leaseVersion,
      nextPollDelayMs,
      redactSecretsIn(lastError),
      countsAsFailure,
      notFound,
      cancelRequested,
    ],
  );
  return result.rowCount === 1;
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
     WHERE status = 1 AND provider_terminal_at IS NULL
       AND (lease_until IS NULL OR lease_until <= now())
       AND NOT polling_paused
       AND NOT EXISTS (SELECT 1 FROM polling_control WHERE paused)
       AND NOT EXISTS (SELECT 1 FROM provider_pauses p
                       WHERE p.provider = batch_jobs_vp_logs.provider AND (p.needs_probe OR p.paused_until > now()))`,
  );
  return rows[0]?.delay_ms ?? null;
}
