import { BatchStatus, type CompletionEstimate, estimateCompletion } from '@batchline/domain';
import type { Queryable } from './pool.ts';

/** How many of a job type's latest completed batches make its history of durations. */
export const ESTIMATE_HISTORY_BATCHES = 50;

/** A pending batch's progress at the provider and when it should be done. */
export interface BatchProgress {
  batchLogId: number;
  /** The provider's request counts at the last check (done = completed + failed); null when none reported. */
  done: number | null;
  total: number | null;
  estimate: CompletionEstimate | null;
}

interface ProgressRow {
  id: string;
  now_ms: number;
  created_ms: number;
  started_ms: number | null;
  terminal_ms: number | null;
  observed_ms: number | null;
  total: number | null;
  done: number | null;
  history_ms: number[] | null;
}

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * The progress and estimated completion (`estimateCompletion`, libs/domain) of the given batches that are still
 * pending, by batch log id; final or unknown ids are left out. One statement, times by the database clock; the
 * history is the submission-to-landed durations of each job type's latest completed batches (monitor facts), read
 * once per job type (MATERIALIZED: inlined, it was read again for every batch), and the batches are looked up by
 * id (`= ANY` let the planner walk every pending batch instead: 10,000 of them at issue 18's scale).
 */
export async function readBatchProgress(
  db: Queryable,
  batchLogIds: readonly number[],
): Promise<Map<number, BatchProgress>> {
  const progress = new Map<number, BatchProgress>();
  if (batchLogIds.length === 0) return progress;
  const { rows } = await db.query<ProgressRow>(
    `WITH p AS (
       SELECT b.id, b.job_type, b.created_at, b.provider_started_at, b.provider_terminal_at, b.last_checked_at,
              (b.request_counts ->> 'total')::float8 AS total,
              (COALESCE((b.request_counts ->> 'completed')::float8, 0)
               + COALESCE((b.request_counts ->> 'failed')::float8, 0)) AS done,
              b.request_counts IS NOT NULL AS has_counts
       FROM unnest($1::bigint[]) AS asked (id) JOIN batch_jobs_vp_logs b ON b.id = asked.id
       WHERE b.status = ${BatchStatus.pending}
     ),
     h AS MATERIALIZED (
       SELECT t.job_type, ARRAY(
         SELECT ${ms('f.landed_at - f.created_at')} FROM monitor_batch_facts f
         WHERE f.job_type = t.job_type AND f.status = ${BatchStatus.completed}
         ORDER BY f.landed_at DESC LIMIT $2) AS history_ms
       FROM (SELECT DISTINCT job_type FROM p) t
     )
     SELECT p.id, ${ms('now()')} AS now_ms, ${ms('p.created_at')} AS created_ms,
            ${ms('p.provider_started_at')} AS started_ms, ${ms('p.provider_terminal_at')} AS terminal_ms,
            ${ms('p.last_checked_at')} AS observed_ms,
            CASE WHEN p.has_counts THEN p.total END AS total, CASE WHEN p.has_counts THEN p.done END AS done,
            h.history_ms
     FROM p JOIN h USING (job_type)`,
    [batchLogIds, ESTIMATE_HISTORY_BATCHES],
  );
  for (const row of rows) {
    const counts = row.total === null || row.done === null ? null : { total: row.total, done: row.done };
    progress.set(Number(row.id), {
      batchLogId: Number(row.id),
      done: counts?.done ?? null,
      total: counts?.total ?? null,
      estimate: estimateCompletion({
        now: row.now_ms,
        createdAt: row.created_ms,
        startedAt: row.started_ms,
        providerTerminalAt: row.terminal_ms,
        counts,
        observedAt: row.observed_ms,
        historyMs: row.history_ms ?? [],
      }),
    });
  }
  return progress;
}
