import type { Queryable, TransactionSource } from './pool.ts';

/**
 * Where a batch is, as the monitor shows it: `pending` (submitted, the provider has not started it), `processing`
 * (the provider works on it, or its results are landing), `completed` (status 2), `failed` (status 9).
 */
export type JobState = 'pending' | 'processing' | 'completed' | 'failed';
export const JOB_STATES: readonly JobState[] = ['pending', 'processing', 'completed', 'failed'];

/** The state of a `batch_jobs_vp_logs` row aliased `b`. */
const JOB_STATE_SQL = `CASE
    WHEN b.status = 2 THEN 'completed'
    WHEN b.status = 9 THEN 'failed'
    WHEN b.provider_status IS NULL OR b.provider_status = 'validating' THEN 'pending'
    ELSE 'processing' END`;

/** Constant SQL conditions per state (never built from input). */
const JOB_STATE_CONDITION: Record<JobState, string> = {
  completed: 'b.status = 2',
  failed: 'b.status = 9',
  pending: `b.status = 1 AND (b.provider_status IS NULL OR b.provider_status = 'validating')`,
  processing: `b.status = 1 AND b.provider_status IS NOT NULL AND b.provider_status <> 'validating'`,
};

export interface MonitoringScope {
  /** Jobs created in the last `rangeMs` (database clock). */
  rangeMs: number;
  jobType: string | null;
  state: JobState | null;
}

/** Jobs of one historical bucket, provider, model and state, summed. */
export interface MonitoringGroup {
  bucketStart: Date;
  provider: string;
  model: string | null;
  state: JobState;
  jobs: number;
  totalRequests: number;
  succeeded: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  /** Jobs whose results have landed (completed or failed), and the sum of their submission-to-landed times. */
  finishedJobs: number;
  processingMsSum: number;
}

export interface PollingState {
  paused: boolean;
  changedAt: Date;
  changedBy: string | null;
  /** Pending batches whose own polling is paused. */
  pausedBatches: number;
}

/** One job of the monitor's job list. */
export interface MonitoredJob {
  id: number;
  batchId: string;
  provider: string;
  jobType: string;
  model: string | null;
  state: JobState;
  providerStatus: string | null;
  totalRequests: number;
  succeeded: number;
  failed: number;
  createdAt: Date;
  startedAt: Date | null;
  landedAt: Date | null;
  pollingPaused: boolean;
  pollPriority: number;
  /** The batch this one retries, and the batch that retries this one (once submitted). */
  retryOf: number | null;
  retriedAs: number | null;
  promptTokens: number;
  completionTokens: number;
  errors: { errorCode: string; requests: number }[];
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
 * The jobs created in the window, grouped by bucket, provider, model and state:
 * - final batches from their hourly sums for whole hours, and from their facts for the window's first, partial
 *   hour (and throughout when buckets are shorter than an hour);
 * - batches still pending from their live rows, with the token usage of whatever results have landed.
 */
const GROUPS = `
  SELECT date_bin($2::float8 * interval '1 millisecond', h.hour, $4::timestamptz) AS "bucketStart", h.provider,
         NULLIF(h.model, '') AS model, CASE h.status WHEN 2 THEN 'completed' ELSE 'failed' END AS state,
         sum(h.jobs)::int AS jobs, sum(h.total_requests)::float8 AS "totalRequests",
         sum(h.succeeded)::float8 AS succeeded, sum(h.failed)::float8 AS failed,
         sum(h.prompt_tokens)::float8 AS "promptTokens", sum(h.completion_tokens)::float8 AS "completionTokens",
         sum(h.jobs)::int AS "finishedJobs", sum(h.processing_ms)::float8 AS "processingMsSum"
  FROM monitor_hourly_facts h, w
  WHERE h.hour >= w.whole_hours_from AND ($3::text IS NULL OR h.job_type = $3)
  GROUP BY 1, 2, 3, 4
  UNION ALL
  SELECT date_bin($2::float8 * interval '1 millisecond', f.created_at, $4::timestamptz), f.provider, f.model,
         CASE f.status WHEN 2 THEN 'completed' ELSE 'failed' END,
         count(*)::int, sum(f.total_requests)::float8, sum(f.succeeded)::float8, sum(f.failed)::float8,
         sum(f.prompt_tokens)::float8, sum(f.completion_tokens)::float8, count(*)::int,
         sum(extract(epoch FROM f.landed_at - f.created_at) * 1000)::float8
  FROM monitor_batch_facts f, w
  WHERE f.created_at >= w.from_at AND f.created_at < w.whole_hours_from AND ($3::text IS NULL OR f.job_type = $3)
  GROUP BY 1, 2, 3, 4
  UNION ALL
  SELECT date_bin($2::float8 * interval '1 millisecond', b.created_at, $4::timestamptz), b.provider, b.model,
         ${JOB_STATE_SQL},
         count(*)::int, sum(b.total_sentences)::float8, sum(b.processed_sentences)::float8,
         sum(b.failed_sentences)::float8, COALESCE(sum(u.prompt_tokens), 0)::float8,
         COALESCE(sum(u.completion_tokens), 0)::float8, 0, 0::float8
  FROM w, batch_jobs_vp_logs b
  LEFT JOIN LATERAL (
    SELECT sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens
    FROM batch_request_results r
    WHERE r.batch_log_id = b.id AND b.processed_sentences + b.failed_sentences > 0
  ) u ON true
  WHERE b.status = 1 AND b.created_at >= w.from_at AND ($3::text IS NULL OR b.job_type = $3)
  GROUP BY 1, 2, 3, 4`;

/** Batches not final now (of the job type asked for, whenever created), and those whose polling is paused. */
const LIVE = `
  SELECT count(*) FILTER (WHERE s.of_type AND s.state = 'pending')::int AS pending,
         count(*) FILTER (WHERE s.of_type AND s.state = 'processing')::int AS processing,
         count(*) FILTER (WHERE s.polling_paused)::int AS "pausedBatches"
  FROM (SELECT ${JOB_STATE_SQL} AS state, b.polling_paused, ($3::text IS NULL OR b.job_type = $3) AS of_type
        FROM batch_jobs_vp_logs b WHERE b.status = 1) s`;

const JOB_COLUMNS = `b.id, b.batch_id AS "batchId", b.provider, b.job_type AS "jobType", b.model,
  ${JOB_STATE_SQL} AS state, b.provider_status AS "providerStatus", b.total_sentences AS "totalRequests",
  b.processed_sentences AS succeeded, b.failed_sentences AS failed, b.created_at AS "createdAt",
  b.provider_started_at AS "startedAt", b.results_landed_at AS "landedAt", b.polling_paused AS "pollingPaused",
  b.poll_priority AS "pollPriority",
  (SELECT r.original_batch_log_id FROM batch_retries r WHERE r.retry_batch_log_id = b.id) AS "retryOf",
  (SELECT r.retry_batch_log_id FROM batch_retries r WHERE r.original_batch_log_id = b.id) AS "retriedAs"`;

/**
 * The jobs of CTE `picked` (JOB_COLUMNS rows) with their token usage and failed requests by error code: from
 * their facts when final, live from their results when not. Ordered newest first.
 */
const JOBS_OF_PICKED = `
  SELECT p.*,
    CASE WHEN p.state IN ('completed', 'failed')
      THEN (SELECT f.prompt_tokens FROM monitor_batch_facts f WHERE f.batch_log_id = p.id)
      ELSE (SELECT sum(r.prompt_tokens) FROM batch_request_results r WHERE r.batch_log_id = p.id) END::float8
      AS "promptTokens",
    CASE WHEN p.state IN ('completed', 'failed')
      THEN (SELECT f.completion_tokens FROM monitor_batch_facts f WHERE f.batch_log_id = p.id)
      ELSE (SELECT sum(r.completion_tokens) FROM batch_request_results r WHERE r.batch_log_id = p.id) END::float8
      AS "completionTokens",
    CASE WHEN p.state IN ('completed', 'failed')
      THEN (SELECT json_agg(json_build_object('errorCode', e.error_code, 'requests', e.requests)
                            ORDER BY e.requests DESC, e.error_code)
            FROM monitor_batch_errors e WHERE e.batch_log_id = p.id)
      ELSE (SELECT json_agg(json_build_object('errorCode', x.error_code, 'requests', x.requests)
                            ORDER BY x.requests DESC, x.error_code)
            FROM (SELECT COALESCE(r.error_code, 'unknown') AS error_code, count(*)::int AS requests
                  FROM batch_request_results r WHERE r.batch_log_id = p.id AND r.outcome = 'failed'
                  GROUP BY 1) x) END AS errors
  FROM picked p
  ORDER BY p."createdAt" DESC, p.id DESC`;

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

/** A job as the statements return it (JSON: times as ISO text). */
interface JobJson
  extends Omit<
    MonitoredJob,
    'createdAt' | 'startedAt' | 'landedAt' | 'promptTokens' | 'completionTokens' | 'errors'
  > {
  createdAt: string;
  startedAt: string | null;
  landedAt: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  errors: { errorCode: string; requests: number }[] | null;
}

const dateOrNull = (text: string | null): Date | null => (text === null ? null : new Date(text));

const toMonitoredJob = (job: JobJson): MonitoredJob => ({
  ...job,
  createdAt: new Date(job.createdAt),
  startedAt: dateOrNull(job.startedAt),
  landedAt: dateOrNull(job.landedAt),
  promptTokens: job.promptTokens ?? 0,
  completionTokens: job.completionTokens ?? 0,
  errors: job.errors ?? [],
});

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

export async function getPollingState(db: Queryable): Promise<PollingState> {
  const { rows } = await db.query<PollingState>(
    `SELECT c.paused, c.changed_at AS "changedAt", c.changed_by AS "changedBy",
            (SELECT count(*)::int FROM batch_jobs_vp_logs WHERE status = 1 AND polling_paused) AS "pausedBatches"
     FROM polling_control c`,
  );
  return rows[0]!;
}

/** One job by batch log id, as the job list shows it; null when unknown. */
export async function getMonitoredJob(db: Queryable, id: number): Promise<MonitoredJob | null> {
  const { rows } = await db.query<{ job: JobJson | null }>(
    `WITH picked AS (SELECT ${JOB_COLUMNS} FROM batch_jobs_vp_logs b WHERE b.id = $1)
     SELECT (SELECT row_to_json(j) FROM (${JOBS_OF_PICKED}) j) AS job`,
    [id],
  );
  const job = rows[0]?.job;
  return job ? toMonitoredJob(job) : null;
}

/** Every batch by state: final ones from their hourly sums, the others live. */
export async function countBatchesByState(db: Queryable): Promise<Record<JobState, number>> {
  const { rows } = await db.query<{ state: JobState; jobs: number }>(
    `SELECT CASE status WHEN 2 THEN 'completed' ELSE 'failed' END AS state, sum(jobs)::int AS jobs
     FROM monitor_hourly_facts GROUP BY 1
     UNION ALL
     SELECT ${JOB_STATE_SQL}, count(*)::int FROM batch_jobs_vp_logs b WHERE b.status = 1 GROUP BY 1`,
  );
  const counts: Record<JobState, number> = { pending: 0, processing: 0, completed: 0, failed: 0 };
  for (const row of rows) counts[row.state] += row.jobs;
  return counts;
}
