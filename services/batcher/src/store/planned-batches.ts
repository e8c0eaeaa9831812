import type { Queryable } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import type { BatchTrigger } from '../batch-policy.ts';
import type { GroupKey } from './queue.ts';

/** A batch the batcher planned: its requests are claimed; it may or may not exist at the provider yet. */
export interface PlannedBatch extends GroupKey {
  id: number;
  idempotencyKey: string;
  requestCount: number;
  createdAt: Date;
}

interface PlannedBatchRow {
  id: string;
  job_type: string;
  provider: string;
  model: string;
  idempotency_key: string;
  request_count: number;
  created_at: Date;
}

const toPlannedBatch = (row: PlannedBatchRow): PlannedBatch => ({
  id: Number(row.id),
  jobType: row.job_type,
  provider: row.provider,
  model: row.model,
  idempotencyKey: row.idempotency_key,
  requestCount: row.request_count,
  createdAt: row.created_at,
});

export interface NewPlannedBatch extends GroupKey {
  idempotencyKey: string;
  trigger: BatchTrigger;
  requestCount: number;
  requestBytes: number;
  estimatedTokens: number;
  estimatedCostUsd: number | null;
  leaseOwner: string;
  leaseMs: number;
}

/** Records the intent to make a batch, leased to its maker (before anything is uploaded). */
export async function insertPlannedBatch(db: Queryable, batch: NewPlannedBatch): Promise<PlannedBatch> {
  const { rows } = await db.query<PlannedBatchRow>(
    `INSERT INTO batcher_batches
       (job_type, provider, model, idempotency_key, state, trigger, request_count, request_bytes, estimated_tokens,
        estimated_cost_usd, lease_owner, lease_until)
     VALUES ($1, $2, $3, $4, 'planned', $5, $6, $7, $8, $9, $10, now() + $11::float8 * interval '1 millisecond')
     RETURNING *`,
    [
      batch.jobType,
      batch.provider,
      batch.model,
      batch.idempotencyKey,
      batch.trigger,
      batch.requestCount,
      batch.requestBytes,
      batch.estimatedTokens,
      batch.estimatedCostUsd,
      batch.leaseOwner,
      batch.leaseMs,
    ],
  );
  return toPlannedBatch(rows[0]!);
}

/** Takes over planned batches whose maker's lease ran out (it died or stalled), at most `limit`. */
export async function leaseAbandonedBatches(
  db: Queryable,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<PlannedBatch[]> {
  const { rows } = await db.query<PlannedBatchRow>(
    `UPDATE batcher_batches SET lease_owner = $1, lease_until = now() + $2::float8 * interval '1 millisecond'
     WHERE id IN (SELECT id FROM batcher_batches WHERE state = 'planned' AND lease_until < now()
                  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [owner, leaseMs, limit],
  );
  return rows.map(toPlannedBatch);
}

/** Gives a planned batch's lease up at once, so the next tick (of any replica) reconciles it. */
export async function releaseLease(db: Queryable, batchId: number): Promise<void> {
  await db.query("UPDATE batcher_batches SET lease_until = now() WHERE id = $1 AND state = 'planned'", [
    batchId,
  ]);
}

/** Locks a planned batch to settle it; false when it is settled already (another batcher recorded it). */
export async function lockPlannedBatch(db: Queryable, batchId: number): Promise<boolean> {
  const { rows } = await db.query<{ state: string }>(
    'SELECT state FROM batcher_batches WHERE id = $1 FOR UPDATE',
    [batchId],
  );
  return rows[0]?.state === 'planned';
}

export async function markRecorded(
  db: Queryable,
  batchId: number,
  recorded: { providerBatchId: string; batchJobId: number; batchLogId: number },
): Promise<void> {
  await db.query(
    `UPDATE batcher_batches SET state = 'recorded', provider_batch_id = $2, batch_job_id = $3, batch_log_id = $4,
       lease_owner = NULL, lease_until = NULL, settled_at = now()
     WHERE id = $1`,
    [batchId, recorded.providerBatchId, recorded.batchJobId, recorded.batchLogId],
  );
}

/** Why the provider refused a batch: its message, and for a refusal after creation its code and stated limit. */
export interface Refusal {
  reason: string;
  code?: string | null;
  /** The enqueued-token limit the provider's message stated. */
  providerTokenLimit?: number | null;
}

export async function markRefused(db: Queryable, batchId: number, refusal: Refusal): Promise<void> {
  await db.query(
    `UPDATE batcher_batches SET state = 'refused', refusal = $2, refusal_code = $3, provider_token_limit = $4,
       lease_owner = NULL, lease_until = NULL, settled_at = now()
     WHERE id = $1`,
    [batchId, refusal.reason.slice(0, 2000), refusal.code ?? null, refusal.providerTokenLimit ?? null],
  );
}

/** The batch recorded as batch log `batchLogId`, locked, with its state; null when the batcher did not make it. */
export async function lockBatchOfLog(
  db: Queryable,
  batchLogId: number,
): Promise<(PlannedBatch & { state: string }) | null> {
  const { rows } = await db.query<PlannedBatchRow & { state: string }>(
    'SELECT * FROM batcher_batches WHERE batch_log_id = $1 FOR UPDATE',
    [batchLogId],
  );
  const row = rows[0];
  return row ? { ...toPlannedBatch(row), state: row.state } : null;
}

/** What the model's last `token_limit_exceeded` refusal still says about planning its next batch. */
export interface TokenLimitHold {
  /** No batch of the model goes out yet. */
  held: boolean;
  /** The limit the provider stated in a refusal within `memoryMs`, null when none did. */
  statedLimit: number | null;
}

/**
 * After the provider refused a model's batch for its enqueued-token limit, the model's next batch waits until a
 * batch of it that was in flight ends at the provider, or — with none in flight — until `backoffMs` passed; the
 * limit the refusal stated caps the model's ceiling for `memoryMs` (a raised tier is found again after it).
 */
export async function tokenLimitHold(
  db: Queryable,
  group: { provider: string; model: string },
  backoffMs: number,
  memoryMs: number,
): Promise<TokenLimitHold> {
  const { rows } = await db.query<{ held: boolean; stated_limit: string | null }>(
    `WITH last AS (
       SELECT settled_at, provider_token_limit FROM batcher_batches
       WHERE provider = $1 AND model = $2 AND refusal_code = 'token_limit_exceeded'
       ORDER BY settled_at DESC LIMIT 1
     ), ours AS (
       SELECT l.status, l.provider_terminal_at FROM batcher_batches b JOIN batch_jobs_vp_logs l ON l.id = b.batch_log_id
       WHERE b.provider = $1 AND b.model = $2 AND b.state = 'recorded'
     )
     SELECT NOT (
              EXISTS (SELECT 1 FROM ours WHERE ours.provider_terminal_at > last.settled_at)
              OR (last.settled_at <= now() - $3::float8 * interval '1 millisecond'
                  AND NOT EXISTS (SELECT 1 FROM ours WHERE ours.status = $5 AND ours.provider_terminal_at IS NULL))
            ) AS held,
            CASE WHEN last.settled_at > now() - $4::float8 * interval '1 millisecond'
                 THEN last.provider_token_limit END AS stated_limit
     FROM last`,
    [group.provider, group.model, backoffMs, memoryMs, BatchStatus.pending],
  );
  const row = rows[0];
  if (!row) return { held: false, statedLimit: null };
  return { held: row.held, statedLimit: row.stated_limit === null ? null : Number(row.stated_limit) };
}

/**
 * Prompt tokens the provider holds for a model: those of batches planned and not refused whose batch is not
 * recorded yet or is still running (not final, not terminal at the provider).
 */
export async function enqueuedTokens(db: Queryable, provider: string, model: string): Promise<number> {
  const { rows } = await db.query<{ tokens: string | null }>(
    `SELECT sum(b.estimated_tokens) AS tokens
     FROM batcher_batches b LEFT JOIN batch_jobs_vp_logs l ON l.id = b.batch_log_id
     WHERE b.provider = $1 AND b.model = $2
       AND (b.state = 'planned' OR (b.state = 'recorded' AND l.status = $3 AND l.provider_terminal_at IS NULL))`,
    [provider, model, BatchStatus.pending],
  );
  return Number(rows[0]?.tokens ?? 0);
}

/** What a job type's batches (planned or recorded) are estimated to cost since the start of the UTC day. */
export async function spentToday(db: Queryable, jobType: string): Promise<number> {
  const { rows } = await db.query<{ spent: string | null }>(
    `SELECT sum(estimated_cost_usd) AS spent FROM batcher_batches
     WHERE job_type = $1 AND state <> 'refused'
       AND created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
    [jobType],
  );
  return Number(rows[0]?.spent ?? 0);
}
