import {
  enqueueOutbox,
  type OutboxEvent,
  type Queryable,
  type RequestCounts,
  type TransactionSource,
  withTransaction,
} from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { redactSecretsIn } from '@batchline/logging';

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
       WHERE id = $1 AND lease_version = $2 AND status = ${BatchStatus.pending}`,
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
     WHERE id = $1 AND lease_version = $2 AND status = ${BatchStatus.pending}`,
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
