import type { Queryable } from '@batchline/db';

/** A group of the batcher's queue as the batcher last wrote it (`batcher_group_status`, read-only here). */
export interface BatcherQueueRow {
  jobType: string;
  provider: string;
  model: string;
  pending: number;
  oldestAgeSeconds: number;
  nextBatchDueAt: Date | null;
  paused: boolean;
  waitingFor: string | null;
  dailyBudgetUsd: number | null;
  spentTodayUsd: number | null;
  updatedAt: Date;
  /** The batcher has not rewritten it for longer than a few of its ticks: it is not running. */
  stale: boolean;
}

/** The batcher's queue per job type, provider and model (of one job type when given), oldest request's age now. */
export async function readBatcherQueue(db: Queryable, jobType: string | null): Promise<BatcherQueueRow[]> {
  const { rows } = await db.query<BatcherQueueRow>(
    `SELECT job_type AS "jobType", provider, model, pending,
            greatest(0, floor(extract(epoch FROM now() - oldest_enqueued_at)))::int AS "oldestAgeSeconds",
            next_batch_due_at AS "nextBatchDueAt", paused, waiting_for AS "waitingFor",
            daily_budget_usd::float8 AS "dailyBudgetUsd", spent_today_usd::float8 AS "spentTodayUsd",
            updated_at AS "updatedAt", stale_after < now() AS stale
     FROM batcher_group_status WHERE $1::text IS NULL OR job_type = $1
     ORDER BY job_type, provider, model`,
    [jobType],
  );
  return rows;
}
