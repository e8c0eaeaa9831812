import type { Pool } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import { Counter, type Registry } from '@batchline/metrics';
import { type PeriodicWork, runPeriodically } from '../periodic-work.ts';
import {
  acquireRetentionLease,
  purgeBatch,
  releaseRetentionLease,
  renewRetentionLease,
} from '../store/retention.ts';
import type { PurgeStep } from './plan.ts';

export interface RetentionJobOptions {
  pool: Pool;
  log: Logger;
  /** The service's registry (`/metrics` on its health port). */
  metrics: Registry;
  /** This replica's name in the lease. */
  holder: string;
  plan: readonly PurgeStep[];
  /** Time between two finished purges, across replicas. */
  intervalMs: number;
  batchRows: number;
  /** Pause between two batches. */
  pauseMs: number;
  /** How often a replica looks whether a purge is due, first one such period after start (default: the interval, at most 5 minutes). */
  checkEveryMs?: number;
  /** A replica that stops renewing (it died) loses the lease after this long. */
  leaseMs?: number;
  lockTimeoutMs?: number;
}

/** `runOnce` runs one purge now if it is due and no replica holds the lease; resolves with what it purged, or null. */
export type RetentionJob = PeriodicWork<Record<string, number> | null>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The daily purge of batchline's history (docs/operations.md, "Retention"): one replica at a time (a lease in
 * `retention_runs`), table by table, `batchRows` rows per short transaction with a pause between them, so that no
 * statement holds locks for long and the pipeline keeps its share of the database.
 */
export function startRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { pool, log, holder, plan, intervalMs, batchRows, pauseMs } = options;
  const leaseMs = options.leaseMs ?? 120_000;
  const lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
  const purgedRows = new Counter({
    name: 'batchline_retention_purged_rows_total',
    help: 'Rows the retention purge deleted, by family and table',
    labelNames: ['family', 'table'],
    registers: [options.metrics],
  });
  const runs = new Counter({
    name: 'batchline_retention_runs_total',
    help: 'Retention purges run by this replica, by outcome (finished, failed, lease_lost, stopped)',
    labelNames: ['outcome'],
    registers: [options.metrics],
  });
  const purge = async (
    isStopped: () => boolean,
  ): Promise<{ purged: Record<string, number>; outcome: string }> => {
    const purged: Record<string, number> = {};
    for (const step of plan) {
      for (;;) {
        if (isStopped()) return { purged, outcome: 'stopped' };
        if (!(await renewRetentionLease(pool, holder, leaseMs))) return { purged, outcome: 'lease_lost' };
        const deleted = await purgeBatch(pool, step, batchRows, lockTimeoutMs);
        purged[step.table] = (purged[step.table] ?? 0) + deleted;
        purgedRows.inc({ family: step.family, table: step.table }, deleted);
        // A batch may hold fewer rows than asked and still not be the last (outcomes come a few batches at a time).
        if (deleted === 0) break;
        await sleep(pauseMs);
      }
    }
    return { purged, outcome: 'finished' };
  };

  const runOnce = async (isStopped: () => boolean): Promise<Record<string, number> | null> => {
    if (isStopped() || !(await acquireRetentionLease(pool, holder, { everyMs: intervalMs, leaseMs })))
      return null;
    const started = Date.now();
    let outcome = 'failed';
    let purged: Record<string, number> = {};
    try {
      ({ purged, outcome } = await purge(isStopped));
      log.info({ purged, outcome, ms: Date.now() - started }, 'retention purge ended');
      return purged;
    } catch (err) {
      log.warn({ err, purged }, 'retention purge failed; the next check tries again');
      return null;
    } finally {
      runs.inc({ outcome });
      await releaseRetentionLease(pool, holder, purged, outcome === 'finished').catch((err: unknown) =>
        log.warn({ err }, 'releasing the retention lease failed; it expires by itself'),
      );
    }
  };

  const checkEveryMs = options.checkEveryMs ?? Math.min(intervalMs, 300_000);
  return runPeriodically(runOnce, { everyMs: checkEveryMs, log, failure: 'retention check failed' });
}
