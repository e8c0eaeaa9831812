import { type Pool, type Queryable, withTransaction } from '@batchline/db';
import type { PurgeStep } from '../retention/plan.ts';

/** The purge job's row in `retention_runs` (migration 0009). */
const JOB = 'daily';

/**
 * Takes the purge lease when no replica holds it and the last run finished at least `everyMs` ago (by the
 * database clock); true when this replica now holds it for `leaseMs`.
 */
export async function acquireRetentionLease(
  db: Queryable,
  holder: string,
  { everyMs, leaseMs }: { everyMs: number; leaseMs: number },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE retention_runs
     SET holder = $2, lease_until = now() + $3::float8 * interval '1 millisecond', last_started_at = now()
     WHERE job = $1 AND (lease_until IS NULL OR lease_until < now())
       AND (last_finished_at IS NULL OR last_finished_at <= now() - $4::float8 * interval '1 millisecond')`,
    [JOB, holder, leaseMs, everyMs],
  );
  return rowCount === 1;
}

/** Extends the lease; false when this replica lost it (it expired and another took it): the purge stops. */
export async function renewRetentionLease(db: Queryable, holder: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE retention_runs SET lease_until = now() + $3::float8 * interval '1 millisecond'
     WHERE job = $1 AND holder = $2`,
    [JOB, holder, leaseMs],
  );
  return rowCount === 1;
}

/** Ends the run: records what it purged and releases the lease. `finished` false (a failed run) retries sooner. */
export async function releaseRetentionLease(
  db: Queryable,
  holder: string,
  purged: Record<string, number>,
  finished: boolean,
): Promise<void> {
  await db.query(
    `UPDATE retention_runs
     SET holder = NULL, lease_until = NULL,
         last_finished_at = CASE WHEN $4 THEN now() ELSE last_finished_at END,
         last_purged = CASE WHEN $4 THEN $3::jsonb ELSE last_purged END
     WHERE job = $1 AND holder = $2`,
    [JOB, holder, JSON.stringify(purged), finished],
  );
}

/**
 * Deletes one batch of `step`'s rows in a short transaction that announces the step's cutoff (now less its days,
 * by the database clock) and gives up on a lock it cannot get within `lockTimeoutMs`. Returns the rows deleted.
 */
export async function purgeBatch(
  pool: Pool,
  step: PurgeStep,
  batchRows: number,
  lockTimeoutMs: number,
): Promise<number> {
  return withTransaction(pool, async (client) => {
    await client.query(
      `SELECT set_config('lock_timeout', $1, true),
              set_config('batchline.retention_cutoff', (now() - make_interval(days => $2))::text, true)`,
      [`${lockTimeoutMs}ms`, step.days],
    );
    const { rowCount } = await client.query(step.statement, [batchRows]);
    return rowCount ?? 0;
  });
}
