import type { Queryable } from '@batchline/db';
import { BatchStatus, type FailedRequest } from '@batchline/domain';

/** What a retry claim found. */
export type RetryClaim =
  | { claimed: true }
  | { claimed: false; reason: 'not_found' }
  | { claimed: false; reason: 'not_final' }
  | {
      claimed: false;
      reason: 'already_retried';
      retryBatchLogId: number | null;
      state: 'submitting' | 'submitted';
    };

/** The batch a retry resubmits, as the retry needs it. */
export interface RetrySource {
  id: number;
  provider: string;
  batchId: string;
  jobType: string;
  model: string | null;
  inputFileId: string | null;
  failedRequests: number;
  /** The job it belongs to and its round there (null: a batch recorded before jobs existed). */
  batchJobId: number | null;
  retryRound: number;
  /** The codes the job's retry policy retries (null outside a job). */
  policyCodes: string[] | null;
  /** The batch a retry of it already created, if any. */
  retriedAs: number | null;
}

/**
 * Claims the one retry of a final batch, under its row lock, so that concurrent requests cannot both submit. A
 * claim left `submitting` for longer than `staleAfterMs` (its process died mid-submission) can be claimed anew.
 */
export async function claimRetry(
  db: Queryable,
  originalId: number,
  requestedBy: string,
  staleAfterMs: number,
): Promise<RetryClaim> {
  const { rows: batchRows } = await db.query<{ status: number }>(
    'SELECT status FROM batch_jobs_vp_logs WHERE id = $1 FOR UPDATE',
    [originalId],
  );
  const batch = batchRows[0];
  if (!batch) return { claimed: false, reason: 'not_found' };
  if (batch.status === BatchStatus.pending) return { claimed: false, reason: 'not_final' };
  const claimed = await db.query(
    `INSERT INTO batch_retries (original_batch_log_id, state, requested_by) VALUES ($1, 'submitting', $2)
     ON CONFLICT (original_batch_log_id) DO UPDATE
       SET requested_by = EXCLUDED.requested_by, requested_at = now()
       WHERE batch_retries.state = 'submitting'
         AND batch_retries.requested_at < now() - $3::float8 * interval '1 millisecond'`,
    [originalId, requestedBy, staleAfterMs],
  );
  if (claimed.rowCount === 1) return { claimed: true };
  const { rows: existing } = await db.query<{ state: 'submitting' | 'submitted'; retry: string | null }>(
    'SELECT state, retry_batch_log_id AS retry FROM batch_retries WHERE original_batch_log_id = $1',
    [originalId],
  );
  const found = existing[0]!;
  return {
    claimed: false,
    reason: 'already_retried',
    state: found.state,
    retryBatchLogId: found.retry === null ? null : Number(found.retry),
  };
}

/** Records the batch that resubmitted `originalId`'s failed requests, and which requests it holds. */
export async function completeRetry(
  db: Queryable,
  originalId: number,
  retryBatchLogId: number,
  customIds: readonly string[],
): Promise<void> {
  await db.query(
    `UPDATE batch_retries SET state = 'submitted', retry_batch_log_id = $2, requests = $3, custom_ids = $4,
            submitted_at = now()
     WHERE original_batch_log_id = $1`,
    [originalId, retryBatchLogId, customIds.length, customIds],
  );
}

/** Gives a claim up after the submission failed, so that the retry can be asked for again. */
export async function releaseRetry(db: Queryable, originalId: number): Promise<void> {
  await db.query(`DELETE FROM batch_retries WHERE original_batch_log_id = $1 AND state = 'submitting'`, [
    originalId,
  ]);
}

export async function getRetrySource(db: Queryable, id: number): Promise<RetrySource | null> {
  const { rows } = await db.query<{
    id: string;
    provider: string;
    batch_id: string;
    job_type: string;
    model: string | null;
    input_file_id: string | null;
    failed_sentences: number;
    batch_job_id: string | null;
    retry_round: number;
    policy_codes: string[] | null;
    retried_as: string | null;
  }>(
    `SELECT l.id, l.provider, l.batch_id, l.job_type, l.model, l.input_file_id, l.failed_sentences,
            l.batch_job_id, l.retry_round,
            ARRAY(SELECT jsonb_array_elements_text(j.retry_policy -> 'codes')) AS policy_codes,
            (SELECT r.retry_batch_log_id FROM batch_retries r
             WHERE r.original_batch_log_id = l.id AND r.state = 'submitted') AS retried_as
     FROM batch_jobs_vp_logs l LEFT JOIN batch_jobs j ON j.id = l.batch_job_id
     WHERE l.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: Number(row.id),
    provider: row.provider,
    batchId: row.batch_id,
    jobType: row.job_type,
    model: row.model,
    inputFileId: row.input_file_id,
    failedRequests: row.failed_sentences,
    batchJobId: row.batch_job_id === null ? null : Number(row.batch_job_id),
    retryRound: row.retry_round,
    policyCodes: row.batch_job_id === null ? null : row.policy_codes,
    retriedAs: row.retried_as === null ? null : Number(row.retried_as),
  };
}

/** A batch's failed requests with their error codes. */
export async function listFailedRequests(db: Queryable, batchLogId: number): Promise<FailedRequest[]> {
  const { rows } = await db.query<{ custom_id: string; error_code: string | null }>(
    `SELECT custom_id, error_code FROM batch_request_results WHERE batch_log_id = $1 AND outcome = 'failed'`,
    [batchLogId],
  );
  return rows.map((row) => ({ customId: row.custom_id, errorCode: row.error_code }));
}

/** The custom_ids that succeeded in any batch of a job (a part or a retry round). */
export async function listSucceededInJob(db: Queryable, batchJobId: number): Promise<Set<string>> {
  const { rows } = await db.query<{ custom_id: string }>(
    `SELECT DISTINCT r.custom_id FROM batch_request_results r
     JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id
     WHERE l.batch_job_id = $1 AND r.outcome = 'succeeded'`,
    [batchJobId],
  );
  return new Set(rows.map((row) => row.custom_id));
}
