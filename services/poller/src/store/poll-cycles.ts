import type { Queryable } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';

/** What one poll cycle of one poller did: the figures the monitor and the periodic summary read. */
export interface PollerCycle {
  owner: string;
  startedAt: Date;
  durationMs: number;
  /** Time the lease query took. */
  leaseMs: number;
  leased: number;
  /** Checks that got an answer and recorded it. */
  checked: number;
  /** Recorded provider status changes, terminal ones included. */
  transitions: number;
  terminal: number;
  /** Of the terminal ones, those the provider completed. */
  completed: number;
  /** Failed checks by kind (`rate_limited`, `unavailable`, `timeout`, `auth`, `not_found`, ...). */
  errors: Record<string, number>;
  /** How long after falling due the leased batches were leased: the largest, and the sum (for the mean). */
  dueDelayMaxMs: number;
  dueDelaySumMs: number;
}

export async function recordPollerCycle(db: Queryable, cycle: PollerCycle): Promise<void> {
  await db.query(
    `INSERT INTO poller_cycles (owner, started_at, duration_ms, lease_ms, leased, checked, transitions, terminal,
       completed, errors, due_delay_max_ms, due_delay_sum_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)`,
    [
      cycle.owner,
      cycle.startedAt,
      cycle.durationMs,
      cycle.leaseMs,
      cycle.leased,
      cycle.checked,
      cycle.transitions,
      cycle.terminal,
      cycle.completed,
      JSON.stringify(cycle.errors),
      cycle.dueDelayMaxMs,
      cycle.dueDelaySumMs,
    ],
  );
}

/** The cycles of a period, summed (one poller, or every poller when `owner` is null). */
export interface PollerCycleTotals {
  cycles: number;
  leased: number;
  checked: number;
  transitions: number;
  terminal: number;
  completed: number;
  failed: number;
  errors: Record<string, number>;
  busyMs: number;
}

export async function sumPollerCycles(
  db: Queryable,
  { since, owner }: { since: Date; owner: string | null },
): Promise<PollerCycleTotals> {
  const { rows } = await db.query<{
    cycles: number;
    leased: number;
    checked: number;
    transitions: number;
    terminal: number;
    completed: number;
    busy_ms: number;
  }>(
    `SELECT count(*)::int AS cycles, COALESCE(sum(leased), 0)::int AS leased,
            COALESCE(sum(checked), 0)::int AS checked, COALESCE(sum(transitions), 0)::int AS transitions,
            COALESCE(sum(terminal), 0)::int AS terminal, COALESCE(sum(completed), 0)::int AS completed,
            COALESCE(sum(duration_ms), 0)::float8 AS busy_ms
     FROM poller_cycles WHERE started_at >= $1 AND ($2::text IS NULL OR owner = $2)`,
    [since, owner],
  );
  const { rows: errorRows } = await db.query<{ kind: string; count: number }>(
    `SELECT e.key AS kind, sum(e.value::int)::int AS count
     FROM poller_cycles c, jsonb_each_text(c.errors) e
     WHERE c.started_at >= $1 AND ($2::text IS NULL OR c.owner = $2)
     GROUP BY e.key ORDER BY e.key`,
    [since, owner],
  );
  const errors = Object.fromEntries(errorRows.map((row) => [row.kind, row.count]));
  const totals = rows[0]!;
  return {
    cycles: totals.cycles,
    leased: totals.leased,
    checked: totals.checked,
    transitions: totals.transitions,
    terminal: totals.terminal,
    completed: totals.completed,
    failed: errorRows.reduce((sum, row) => sum + row.count, 0),
    errors,
    busyMs: totals.busy_ms,
  };
}

/** Pending batches still waiting for their provider (not final there), for the periodic summary. */
export async function countBatchesAwaitingProvider(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM batch_jobs_vp_logs
     WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NULL`,
  );
  return rows[0]!.count;
}

/** The oldest batches still waiting for the provider (at most `limit`): batch log id, provider batch id, job type. */
export async function oldestAwaitingProvider(
  db: Queryable,
  limit: number,
): Promise<{ id: number; batchId: string; jobType: string }[]> {
  const { rows } = await db.query<{ id: string; batch_id: string; job_type: string }>(
    `SELECT id, batch_id, job_type FROM batch_jobs_vp_logs
     WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NULL ORDER BY created_at, id LIMIT $1`,
    [limit],
  );
  return rows.map((row) => ({ id: Number(row.id), batchId: row.batch_id, jobType: row.job_type }));
}
