import type { Queryable } from '@batchline/db';
import { BatchStatus, nextRetryRound, type RetryPolicy, selectRetryRequests } from '@batchline/domain';
import { listFailedRequests, listSucceededInJob } from './batch-retries.ts';

/** A batch's place in its job, or null for a batch outside any job. */
export async function jobPlaceOf(db: Queryable, batchLogId: number) {
  const { rows } = await db.query<{ batch_job_id: string | null; retry_round: number }>(
    'SELECT batch_job_id, retry_round FROM batch_jobs_vp_logs WHERE id = $1',
    [batchLogId],
  );
  const row = rows[0];
  if (!row || row.batch_job_id === null) return null;
  return { id: batchLogId, batchJobId: Number(row.batch_job_id), retryRound: row.retry_round };
}

/** Why no round follows a final batch. */
export type NoRoundReason = 'rounds_spent' | 'nothing_retryable';

/** What the retrier decided for a final batch of a job. */
export type RoundDecision =
  | { state: 'planned'; round: number; requests: number }
  | { state: 'none'; reason: NoRoundReason }
  | { state: 'decided_before' };

/** The job's policy as the job recorded it; fields it lacks retry nothing. */
function recordedPolicy(recorded: Record<string, unknown>): RetryPolicy {
  return {
    codes: Array.isArray(recorded.codes) ? (recorded.codes as string[]) : [],
    maxRounds: typeof recorded.maxRounds === 'number' ? recorded.maxRounds : 0,
    delayMs: typeof recorded.delayMs === 'number' ? recorded.delayMs : 0,
  };
}

/**
 * The custom_ids out in a live round of a job: those resubmitted by a retry whose batch is still pending. A job's
 * parts hold disjoint requests, so a failed request can only be pending again in a retry round.
 */
export async function listInLiveRound(db: Queryable, batchJobId: number): Promise<Set<string>> {
  const { rows } = await db.query<{ custom_id: string }>(
    `SELECT DISTINCT unnest(r.custom_ids) AS custom_id
     FROM batch_retries r JOIN batch_jobs_vp_logs l ON l.id = r.retry_batch_log_id
     WHERE l.batch_job_id = $1 AND l.status = ${BatchStatus.pending} AND r.custom_ids IS NOT NULL`,
    [batchJobId],
  );
  return new Set(rows.map((row) => row.custom_id));
}

/**
 * Decides, once per final batch of job `batchJobId` (whose row the caller holds locked), whether a retry round of
 * its failures is due: retryable under the job's policy, not succeeded elsewhere in the job, not in a live round,
 * and the policy's rounds not spent. Records the decision; a second call for the same batch changes nothing.
 */
export async function decideRetryRound(
  db: Queryable,
  batch: { id: number; batchJobId: number; retryRound: number },
  recorded: Record<string, unknown>,
): Promise<RoundDecision> {
  const known = await db.query('SELECT 1 FROM batch_retry_rounds WHERE parent_batch_log_id = $1', [batch.id]);
  if (known.rowCount !== 0) return { state: 'decided_before' };
  const policy = recordedPolicy(recorded);
  const round = nextRetryRound(policy, batch.retryRound);
  let decision: RoundDecision;
  if (round === null) decision = { state: 'none', reason: 'rounds_spent' };
  else {
    const selected = selectRetryRequests(
      policy,
      await listFailedRequests(db, batch.id),
      await listSucceededInJob(db, batch.batchJobId),
      await listInLiveRound(db, batch.batchJobId),
    );
    decision =
      selected.length === 0
        ? { state: 'none', reason: 'nothing_retryable' }
        : { state: 'planned', round, requests: selected.length };
  }
  await db.query(
    `INSERT INTO batch_retry_rounds (parent_batch_log_id, batch_job_id, round, state, reason, due_at)
     VALUES ($1, $2, $3, $4, $5, now() + $6::float8 * interval '1 millisecond')`,
    [
      batch.id,
      batch.batchJobId,
      batch.retryRound + 1,
      decision.state,
      decision.state === 'none' ? decision.reason : null,
      policy.delayMs,
    ],
  );
  return decision;
}

/** A planned round a sweeper holds. */
export interface ClaimedRound {
  parentBatchLogId: number;
  batchJobId: number;
  attempts: number;
}

/**
 * Claims up to `limit` due planned rounds for `holder` until `leaseMs` from now; rows another replica holds are
 * skipped (SKIP LOCKED) and a lease that ran out (its replica died) is claimed anew.
 */
export async function claimDueRounds(
  db: Queryable,
  holder: string,
  leaseMs: number,
  limit: number,
): Promise<ClaimedRound[]> {
  const { rows } = await db.query<{ parent_batch_log_id: string; batch_job_id: string; attempts: number }>(
    `UPDATE batch_retry_rounds SET claimed_by = $1, claimed_until = now() + $2::float8 * interval '1 millisecond',
            attempts = attempts + 1, updated_at = now()
     WHERE parent_batch_log_id IN (
       SELECT parent_batch_log_id FROM batch_retry_rounds
       WHERE state = 'planned' AND due_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
       ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING parent_batch_log_id, batch_job_id, attempts`,
    [holder, leaseMs, limit],
  );
  return rows.map((row) => ({
    parentBatchLogId: Number(row.parent_batch_log_id),
    batchJobId: Number(row.batch_job_id),
    attempts: row.attempts,
  }));
}

/** Ends a planned round held by `holder`: submitted as `retryBatchLogId`, or nothing went out (`reason`). */
export async function settleRound(
  db: Queryable,
  parentBatchLogId: number,
  holder: string,
  outcome: { retryBatchLogId: number } | { reason: string },
): Promise<boolean> {
  const submitted = 'retryBatchLogId' in outcome;
  const result = await db.query(
    `UPDATE batch_retry_rounds SET state = $3, retry_batch_log_id = $4, reason = $5, claimed_by = NULL,
            claimed_until = NULL, updated_at = now()
     WHERE parent_batch_log_id = $1 AND state = 'planned' AND claimed_by = $2`,
    [
      parentBatchLogId,
      holder,
      submitted ? 'submitted' : 'none',
      submitted ? outcome.retryBatchLogId : null,
      submitted ? null : outcome.reason,
    ],
  );
  return result.rowCount === 1;
}

/** Gives a round back after a failed attempt: due again `delayMs` from now, with the attempt's error. */
export async function postponeRound(
  db: Queryable,
  parentBatchLogId: number,
  holder: string,
  delayMs: number,
  error: string,
): Promise<void> {
  await db.query(
    `UPDATE batch_retry_rounds SET due_at = now() + $3::float8 * interval '1 millisecond', last_error = $4,
            claimed_by = NULL, claimed_until = NULL, updated_at = now()
     WHERE parent_batch_log_id = $1 AND state = 'planned' AND claimed_by = $2`,
    [parentBatchLogId, holder, delayMs, error.slice(0, 500)],
  );
}
