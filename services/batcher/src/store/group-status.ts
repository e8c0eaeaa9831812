import { type Pool, withTransaction } from '@batchline/db';
import type { GroupKey } from './queue.ts';

/** Why a group with pending requests gets no batch now (null: its batch is being made). */
export type WaitingFor = 'not_due' | 'token_limit' | 'budget' | 'paused' | 'disabled' | 'undeclared_job_type';

/** One row of `batcher_group_status`: a group of the queue as the batcher left it at the end of a tick. */
export interface GroupStatus extends GroupKey {
  pending: number;
  oldestEnqueuedAt: Date;
  nextBatchDueAt: Date | null;
  paused: boolean;
  waitingFor: WaitingFor | null;
  /** Present when the job type has a daily budget. */
  budget: { dailyUsd: number; spentTodayUsd: number } | null;
}

/**
 * Replaces the queue's status with `groups` (groups no longer pending are deleted) in one statement, its rows
 * fresh for `freshMs`. Replicas take turns: one writing now makes the others skip (their view is as fresh).
 */
export async function writeGroupStatus(
  pool: Pool,
  groups: readonly GroupStatus[],
  freshMs: number,
): Promise<void> {
  const rows = groups.map((group) => ({
    job_type: group.jobType,
    provider: group.provider,
    model: group.model,
    pending: group.pending,
    oldest_enqueued_at: group.oldestEnqueuedAt.toISOString(),
    next_batch_due_at: group.nextBatchDueAt?.toISOString() ?? null,
    paused: group.paused,
    waiting_for: group.waitingFor,
    daily_budget_usd: group.budget?.dailyUsd ?? null,
    spent_today_usd: group.budget?.spentTodayUsd ?? null,
  }));
  await withTransaction(pool, async (client) => {
    const { rows: lock } = await client.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_xact_lock(hashtext('batcher:group_status')) AS locked",
    );
    if (!lock[0]?.locked) return;
    await client.query(
      `WITH incoming AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS g(
           job_type text, provider text, model text, pending integer, oldest_enqueued_at timestamptz,
           next_batch_due_at timestamptz, paused boolean, waiting_for text, daily_budget_usd numeric,
           spent_today_usd numeric)
       ), emptied AS (
         DELETE FROM batcher_group_status s WHERE NOT EXISTS (
           SELECT 1 FROM incoming i
           WHERE i.job_type = s.job_type AND i.provider = s.provider AND i.model = s.model)
       )
       INSERT INTO batcher_group_status
         (job_type, provider, model, pending, oldest_enqueued_at, next_batch_due_at, paused, waiting_for,
          daily_budget_usd, spent_today_usd, updated_at, stale_after)
       SELECT job_type, provider, model, pending, oldest_enqueued_at, next_batch_due_at, paused, waiting_for,
              daily_budget_usd, spent_today_usd, now(), now() + $2::float8 * interval '1 millisecond'
       FROM incoming
       ON CONFLICT (job_type, provider, model) DO UPDATE SET
         pending = EXCLUDED.pending, oldest_enqueued_at = EXCLUDED.oldest_enqueued_at,
         next_batch_due_at = EXCLUDED.next_batch_due_at, paused = EXCLUDED.paused,
         waiting_for = EXCLUDED.waiting_for, daily_budget_usd = EXCLUDED.daily_budget_usd,
         spent_today_usd = EXCLUDED.spent_today_usd, updated_at = EXCLUDED.updated_at,
         stale_after = EXCLUDED.stale_after`,
      [JSON.stringify(rows), freshMs],
    );
  });
}
