import { JOB_STATE_SQL, type JobState, type TransactionSource } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { JOB_COLUMNS, JOBS_OF_PICKED, type JobJson, type MonitoredJob, toMonitoredJob } from './jobs.ts';
import type { PollingState } from './polling-control.ts';

/** Constant SQL conditions per state (never built from input). */
const JOB_STATE_CONDITION: Record<JobState, string> = {
  completed: `b.status = ${BatchStatus.completed}`,
  failed: `b.status = ${BatchStatus.failed}`,
  pending: `b.status = ${BatchStatus.pending} AND (b.provider_status IS NULL OR b.provider_status = 'validating')`,
  processing: `b.status = ${BatchStatus.pending} AND b.provider_status IS NOT NULL AND b.provider_status <> 'validating'`,
};

export interface MonitoringScope {
  /** Jobs created in the last `rangeMs` (database clock). */
  rangeMs: number;
  jobType: string | null;
  state: JobState | null;
}

/** Jobs of one historical bucket, job type, provider, model and state, summed. */
export interface MonitoringGroup {
  bucketStart: Date;
  jobType: string;
  provider: string;
  model: string | null;
  state: JobState;
  jobs: number;
  totalRequests: number;
  succeeded: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  /** The part of `promptTokens` read from the provider's prompt cache (priced at the cached-input price). */
  cachedPromptTokens: number;
  /** Jobs whose results have landed (completed or failed), and the sum of their submission-to-landed times. */
  finishedJobs: number;
  processingMsSum: number;
}

export interface MonitoringSnapshot {
  /** The window, by the database clock: `to` is the snapshot's `now()`. */
  from: Date;
  to: Date;
  /** Every job created in the window (whatever the state filter), grouped. */
  groups: MonitoringGroup[];
  /** Batches not final now, whenever they were created. */
  liveQueues: { pending: number; processing: number };
  polling: PollingState;
  /** The requested page of jobs in scope (state filter applied), newest first, with token usage and error counts. */
  jobs: MonitoredJob[];
}

/** Buckets are aligned to this instant (a UTC midnight), so that hours, six-hour spans and days start on the clock. */
export const BUCKET_ORIGIN = new Date('2000-01-01T00:00:00Z');
const HOUR_MS = 3_600_000;

// The monitoring view is read with one statement: one round trip, and one snapshot, so that a batch that becomes
// final meanwhile counts exactly once. Parameters: $1 range (ms), $2 bucket (ms), $3 job type or null,
// $4 bucket origin, $5 page size, $6 offset. The CTE `w` holds the window by the database clock.

/**
 * The jobs created in the window, grouped by bucket, job type, provider, model and state:
 * - final batches from their hourly sums for whole hours, and from their facts for the window's first, partial
 *   hour (and throughout when buckets are shorter than an hour);
 * - batches still pending from their live rows, with the token usage of whatever results have landed.
 */
const GROUPS = `
  SELECT date_bin($2::float8 * interval '1 millisecond', h.hour, $4::timestamptz) AS "bucketStart",
         h.job_type AS "jobType", h.provider, NULLIF(h.model, '') AS model, CASE h.status WHEN ${BatchStatus.completed} THEN 'completed' ELSE 'failed' END AS state,
         sum(h.jobs)::int AS jobs, sum(h.total_requests)::float8 AS "totalRequests",
         sum(h.succeeded)::float8 AS succeeded, sum(h.failed)::float8 AS failed,
         sum(h.prompt_tokens)::float8 AS "promptTokens", sum(h.completion_tokens)::float8 AS "completionTokens",
         sum(h.jobs)::int AS "finishedJobs", sum(h.processing_ms)::float8 AS "processingMsSum",
         sum(h.cached_prompt_tokens)::float8 AS "cachedPromptTokens"
  FROM monitor_hourly_facts h, w
  WHERE h.hour >= w.whole_hours_from AND ($3::text IS NULL OR h.job_type = $3)
  GROUP BY 1, 2, 3, 4, 5
  UNION ALL
  SELECT date_bin($2::float8 * interval '1 millisecond', f.created_at, $4::timestamptz), f.job_type, f.provider,
         f.model,
         CASE f.status WHEN ${BatchStatus.completed} THEN 'completed' ELSE 'failed' END,
         count(*)::int, sum(f.total_requests)::float8, sum(f.succeeded)::float8, sum(f.failed)::float8,
         sum(f.prompt_tokens)::float8, sum(f.completion_tokens)::float8, count(*)::int,
         sum(extract(epoch FROM f.landed_at - f.created_at) * 1000)::float8, sum(f.cached_prompt_tokens)::float8
  FROM monitor_batch_facts f, w
  WHERE f.created_at >= w.from_at AND f.created_at < w.whole_hours_from AND ($3::text IS NULL OR f.job_type = $3)
  GROUP BY 1, 2, 3, 4, 5
  UNION ALL
  SELECT date_bin($2::float8 * interval '1 millisecond', b.created_at, $4::timestamptz), b.job_type, b.provider,
         b.model, ${JOB_STATE_SQL},
         count(*)::int, sum(b.total_sentences)::float8, sum(b.processed_sentences)::float8,
         sum(b.failed_sentences)::float8, COALESCE(sum(u.prompt_tokens), 0)::float8,
         COALESCE(sum(u.completion_tokens), 0)::float8, 0, 0::float8, COALESCE(sum(u.cached_prompt_tokens), 0)::float8
  FROM w, batch_jobs_vp_logs b
  LEFT JOIN LATERAL (
    SELECT sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens,
           sum(r.cached_prompt_tokens) AS cached_prompt_tokens
    FROM batch_request_results r
    WHERE r.batch_log_id = b.id AND b.processed_sentences + b.failed_sentences > 0
  ) u ON true
  WHERE b.status = ${BatchStatus.pending} AND b.created_at >= w.from_at AND ($3::text IS NULL OR b.job_type = $3)
  GROUP BY 1, 2, 3, 4, 5`;

/** Batches not final now (of the job type asked for, whenever created), and those whose polling is paused. */
const LIVE = `
  SELECT count(*) FILTER (WHERE s.of_type AND s.state = 'pending')::int AS pending,
         count(*) FILTER (WHERE s.of_type AND s.state = 'processing')::int AS processing,
         count(*) FILTER (WHERE s.polling_paused)::int AS "pausedBatches"
  FROM (SELECT ${JOB_STATE_SQL} AS state, b.polling_paused, ($3::text IS NULL OR b.job_type = $3) AS of_type
        FROM batch_jobs_vp_logs b WHERE b.status = ${BatchStatus.pending}) s`;

/** The snapshot statement for one state filter (a constant condition, never built from input). */
function snapshotStatement(state: JobState | null): string {
  return `
    WITH w AS MATERIALIZED (
      SELECT now() - $1::float8 * interval '1 millisecond' AS from_at, now() AS to_at,
             CASE WHEN $2::float8 >= ${HOUR_MS}
                  THEN date_trunc('hour', now() - $1::float8 * interval '1 millisecond', 'UTC') + interval '1 hour'
                  ELSE 'infinity'::timestamptz END AS whole_hours_from
    ),
    picked AS MATERIALIZED (
      SELECT ${JOB_COLUMNS}
      FROM w, batch_jobs_vp_logs b
      WHERE b.created_at >= w.from_at AND ($3::text IS NULL OR b.job_type = $3)
        AND ${state === null ? 'true' : JOB_STATE_CONDITION[state]}
      ORDER BY b.created_at DESC, b.id DESC
      LIMIT $5 OFFSET $6
    )
    SELECT w.from_at AS "from", w.to_at AS "to",
           (SELECT row_to_json(l) FROM (${LIVE}) l) AS live,
           (SELECT row_to_json(c) FROM (SELECT paused, changed_at AS "changedAt", changed_by AS "changedBy"
                                        FROM polling_control) c) AS polling,
           COALESCE((SELECT json_agg(g) FROM (${GROUPS}) g), '[]') AS groups,
           COALESCE((SELECT json_agg(j) FROM (${JOBS_OF_PICKED}) j), '[]') AS jobs
    FROM w`;
}

/**
 * Everything the monitoring view shows, in one statement (one round trip, one snapshot): the window, groups for
 * the figures and charts, live queues, polling state and one page of jobs. The statement is prepared once per
 * connection (the dashboard repeats it on every refresh).
 */
export async function readMonitoringSnapshot(
  db: TransactionSource,
  scope: MonitoringScope,
  { bucketMs, limit, offset }: { bucketMs: number; limit: number; offset: number },
): Promise<MonitoringSnapshot> {
  const { rows } = await db.query({
    name: `monitor-snapshot-${scope.state ?? 'all'}`,
    text: snapshotStatement(scope.state),
    values: [scope.rangeMs, bucketMs, scope.jobType, BUCKET_ORIGIN, limit, offset],
  });
  const row = rows[0] as {
    from: Date;
    to: Date;
    live: { pending: number; processing: number; pausedBatches: number };
    polling: { paused: boolean; changedAt: string; changedBy: string | null };
    groups: (Omit<MonitoringGroup, 'bucketStart'> & { bucketStart: string })[];
    jobs: JobJson[];
  };
  return {
    from: row.from,
    to: row.to,
    groups: row.groups.map((group) => ({ ...group, bucketStart: new Date(group.bucketStart) })),
    liveQueues: { pending: row.live.pending, processing: row.live.processing },
    polling: {
      paused: row.polling.paused,
      changedAt: new Date(row.polling.changedAt),
      changedBy: row.polling.changedBy,
      pausedBatches: row.live.pausedBatches,
    },
    jobs: row.jobs.map(toMonitoredJob),
  };
}
