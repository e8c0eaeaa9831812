import { JOB_STATE_SQL, type TransactionSource } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import type { MonitoringGroup } from './monitoring-snapshot.ts';

/**
 * The jobs created in the period of `rangeMs` that ends where the current window starts ([to − range, to)), grouped by job type, provider, model and state like the snapshot's groups (one bucket: the period's
 * start): final batches from their hourly sums for whole hours and from their facts for the partial hours at
 * either end, pending batches live.
 */
const PREVIOUS_PERIOD = `
  WITH w AS MATERIALIZED (
    SELECT $3::timestamptz - $1::float8 * interval '1 millisecond' AS from_at, $3::timestamptz AS to_at,
           date_trunc('hour', $3::timestamptz - $1::float8 * interval '1 millisecond', 'UTC') + interval '1 hour'
             AS hours_from,
           date_trunc('hour', $3::timestamptz, 'UTC') AS hours_to
  ),
  g AS (
    SELECT h.job_type, h.provider, NULLIF(h.model, '') AS model,
           CASE h.status WHEN ${BatchStatus.completed} THEN 'completed' ELSE 'failed' END AS state,
           h.jobs, h.total_requests, h.succeeded, h.failed, h.prompt_tokens, h.completion_tokens,
           h.jobs AS finished_jobs, h.processing_ms, h.cached_prompt_tokens
    FROM monitor_hourly_facts h, w
    WHERE h.hour >= w.hours_from AND h.hour < w.hours_to AND ($2::text IS NULL OR h.job_type = $2)
    UNION ALL
    SELECT f.job_type, f.provider, f.model,
           CASE f.status WHEN ${BatchStatus.completed} THEN 'completed' ELSE 'failed' END,
           1, f.total_requests, f.succeeded, f.failed, f.prompt_tokens, f.completion_tokens, 1,
           extract(epoch FROM f.landed_at - f.created_at) * 1000, f.cached_prompt_tokens
    FROM monitor_batch_facts f, w
    WHERE f.created_at >= w.from_at AND f.created_at < w.to_at AND ($2::text IS NULL OR f.job_type = $2)
      AND NOT (f.created_at >= w.hours_from AND f.created_at < w.hours_to)
    UNION ALL
    SELECT b.job_type, b.provider, b.model, ${JOB_STATE_SQL}, 1, b.total_sentences, b.processed_sentences,
           b.failed_sentences,
           (SELECT COALESCE(sum(r.prompt_tokens), 0) FROM batch_request_results r WHERE r.batch_log_id = b.id),
           (SELECT COALESCE(sum(r.completion_tokens), 0) FROM batch_request_results r WHERE r.batch_log_id = b.id),
           0, 0,
           (SELECT COALESCE(sum(r.cached_prompt_tokens), 0) FROM batch_request_results r WHERE r.batch_log_id = b.id)
    FROM batch_jobs_vp_logs b, w
    WHERE b.status = ${BatchStatus.pending} AND b.created_at >= w.from_at AND b.created_at < w.to_at
      AND ($2::text IS NULL OR b.job_type = $2)
  )
  SELECT w.from_at AS "from", w.to_at AS "to",
    COALESCE((SELECT json_agg(x) FROM (
      SELECT g.job_type AS "jobType", g.provider, g.model, g.state, sum(g.jobs)::int AS jobs,
             sum(g.total_requests)::float8 AS "totalRequests", sum(g.succeeded)::float8 AS succeeded,
             sum(g.failed)::float8 AS failed, sum(g.prompt_tokens)::float8 AS "promptTokens",
             sum(g.completion_tokens)::float8 AS "completionTokens", sum(g.finished_jobs)::int AS "finishedJobs",
             sum(g.processing_ms)::float8 AS "processingMsSum",
             sum(g.cached_prompt_tokens)::float8 AS "cachedPromptTokens"
      FROM g GROUP BY 1, 2, 3, 4) x), '[]') AS groups
  FROM w`;

export interface PreviousPeriod {
  from: Date;
  to: Date;
  groups: MonitoringGroup[];
}

export async function readPreviousPeriod(
  db: TransactionSource,
  { rangeMs, jobType, to }: { rangeMs: number; jobType: string | null; to: Date },
): Promise<PreviousPeriod> {
  const { rows } = await db.query({
    name: 'monitor-previous-period',
    text: PREVIOUS_PERIOD,
    values: [rangeMs, jobType, to],
  });
  const row = rows[0] as { from: Date; to: Date; groups: Omit<MonitoringGroup, 'bucketStart'>[] };
  return {
    from: row.from,
    to: row.to,
    groups: row.groups.map((group) => ({ ...group, bucketStart: row.from })),
  };
}
