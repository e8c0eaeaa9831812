import { JOB_STATE_SQL, type JobState, type Queryable } from '@batchline/db';

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
  /** The part of `promptTokens` read from the provider's prompt cache (priced at the cached-input price). */
  cachedPromptTokens: number;
  errors: { errorCode: string; requests: number }[];
}

/** The columns of a job list row, from a `batch_jobs_vp_logs` row aliased `b`. */
export const JOB_COLUMNS = `b.id, b.batch_id AS "batchId", b.provider, b.job_type AS "jobType", b.model,
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
export const JOBS_OF_PICKED = `
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
      THEN (SELECT f.cached_prompt_tokens FROM monitor_batch_facts f WHERE f.batch_log_id = p.id)
      ELSE (SELECT sum(r.cached_prompt_tokens) FROM batch_request_results r WHERE r.batch_log_id = p.id) END::float8
      AS "cachedPromptTokens",
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

/** A job as the statements return it (JSON: times as ISO text). */
export interface JobJson
  extends Omit<
    MonitoredJob,
    | 'createdAt'
    | 'startedAt'
    | 'landedAt'
    | 'promptTokens'
    | 'completionTokens'
    | 'cachedPromptTokens'
    | 'errors'
  > {
  createdAt: string;
  startedAt: string | null;
  landedAt: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedPromptTokens: number | null;
  errors: { errorCode: string; requests: number }[] | null;
}

const dateOrNull = (text: string | null): Date | null => (text === null ? null : new Date(text));

export const toMonitoredJob = (job: JobJson): MonitoredJob => ({
  ...job,
  createdAt: new Date(job.createdAt),
  startedAt: dateOrNull(job.startedAt),
  landedAt: dateOrNull(job.landedAt),
  promptTokens: job.promptTokens ?? 0,
  completionTokens: job.completionTokens ?? 0,
  cachedPromptTokens: job.cachedPromptTokens ?? 0,
  errors: job.errors ?? [],
});

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
