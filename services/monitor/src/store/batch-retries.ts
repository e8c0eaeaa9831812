import type { Queryable } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';

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

/** Records the batch that resubmitted `originalId`'s failed requests. */
export async function completeRetry(
  db: Queryable,
  originalId: number,
  retryBatchLogId: number,
  requests: number,
): Promise<void> {
  await db.query(
    `UPDATE batch_retries SET state = 'submitted', retry_batch_log_id = $2, requests = $3, submitted_at = now()
     WHERE original_batch_log_id = $1`,
    [originalId, retryBatchLogId, requests],
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
  }>(
    `SELECT id, provider, batch_id, job_type, model, input_file_id, failed_sentences
     FROM batch_jobs_vp_logs WHERE id = $1`,
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
  };
}

/** The custom_ids of a batch's failed requests. */
export async function listFailedCustomIds(db: Queryable, batchLogId: number): Promise<string[]> {
  const { rows } = await db.query<{ custom_id: string }>(
    `SELECT custom_id FROM batch_request_results WHERE batch_log_id = $1 AND outcome = 'failed'`,
    [batchLogId],
  );
  return rows.map((row) => row.custom_id);
}
