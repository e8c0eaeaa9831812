import type { Queryable } from './pool.ts';

/** What a read or an export covers: one batch, or every batch (parts and retry rounds) of one job. */
export type OutcomeScope = { batchLogId: number } | { batchJobId: number };

const SCOPE_KEY = /^(job-)?([1-9][0-9]{0,14})$/;

/** A scope as the admin API and the CLI name it: a batch log id (`123`) or a job (`job-45`); null if neither. */
export function parseScopeKey(text: string): OutcomeScope | null {
  const match = SCOPE_KEY.exec(text);
  if (!match) return null;
  const id = Number(match[2]);
  return match[1] ? { batchJobId: id } : { batchLogId: id };
}

export const scopeKey = (scope: OutcomeScope): string =>
  'batchJobId' in scope ? `job-${scope.batchJobId}` : String(scope.batchLogId);

/** The job type of a scope's batch or job; null when it does not exist. */
export async function readScopeJobType(db: Queryable, scope: OutcomeScope): Promise<string | null> {
  const { rows } = await db.query<{ job_type: string }>(
    'batchJobId' in scope
      ? 'SELECT job_type FROM batch_jobs WHERE id = $1'
      : 'SELECT job_type FROM batch_jobs_vp_logs WHERE id = $1',
    ['batchJobId' in scope ? scope.batchJobId : scope.batchLogId],
  );
  return rows[0]?.job_type ?? null;
}

/**
 * The batch logs of a scope, as SQL. The id is a whole number checked here and written in the text, because
 * `COPY (query) TO STDOUT` takes no parameters; nothing else from outside ever reaches the statement.
 */
export function scopeBatchLogsSql(scope: OutcomeScope): string {
  const [column, id] = 'batchLogId' in scope ? ['id', scope.batchLogId] : ['batch_job_id', scope.batchJobId];
  if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`not a batch log or job id: ${id}`);
  return `SELECT l.id FROM batch_jobs_vp_logs l WHERE l.${column} = ${id}`;
}

const FINAL_OUTCOME_COLUMNS = `r.custom_id, r.outcome, r.error_code, r.error_message, r.batch_log_id, l.retry_round,
      r.prompt_tokens, r.completion_tokens, r.created_at`;

/**
 * Each request's final outcome in a scope, one row per custom id: the outcome of a round where it succeeded if
 * any did, else its latest failure (the highest retry round). Columns: custom_id, outcome, error_code,
 * error_message, batch_log_id, retry_round, prompt_tokens, completion_tokens, created_at; ordered by custom_id.
 * A batch holds one result per custom id (its unique key), so a batch's are its rows as they are, read in the
 * key's order: a page or an export of a 50,000-request batch then reads what it sends, not a sort of all of it.
 */
export function finalOutcomesSql(scope: OutcomeScope): string {
  if ('batchLogId' in scope) {
    return `SELECT ${FINAL_OUTCOME_COLUMNS}
    FROM batch_request_results r
    JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id
    WHERE r.batch_log_id IN (${scopeBatchLogsSql(scope)})
    ORDER BY r.custom_id`;
  }
  return `SELECT DISTINCT ON (r.custom_id) ${FINAL_OUTCOME_COLUMNS}
    FROM batch_request_results r
    JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id
    WHERE r.batch_log_id IN (${scopeBatchLogsSql(scope)})
    ORDER BY r.custom_id, (r.outcome = 'succeeded') DESC, l.retry_round DESC, r.created_at DESC`;
}

export type RequestOutcomeKind = 'succeeded' | 'failed';

export interface RequestOutcome {
  customId: string;
  outcome: RequestOutcomeKind;
  errorCode: string | null;
  errorMessage: string | null;
  /** The batch (and its retry round) the outcome comes from. */
  batchLogId: number;
  retryRound: number;
  promptTokens: number | null;
  completionTokens: number | null;
  landedAt: Date;
}

export interface RequestOutcomeFilter {
  outcome: RequestOutcomeKind | null;
  errorCode: string | null;
  limit: number;
  offset: number;
}

/** One page of a scope's final request outcomes (by custom id), filtered, and how many match in all. */
export async function readRequestOutcomes(
  db: Queryable,
  scope: OutcomeScope,
  filter: RequestOutcomeFilter,
): Promise<{ total: number; requests: RequestOutcome[] }> {
  const { rows } = await db.query<{
    custom_id: string;
    outcome: RequestOutcomeKind;
    error_code: string | null;
    error_message: string | null;
    batch_log_id: string;
    retry_round: number;
    prompt_tokens: number | null;
    completion_tokens: number | null;
    created_at: Date;
  }>(
    `SELECT f.* FROM (${finalOutcomesSql(scope)}) f
     WHERE ($1::text IS NULL OR f.outcome = $1) AND ($2::text IS NULL OR f.error_code = $2)
     ORDER BY f.custom_id LIMIT $3 OFFSET $4`,
    [filter.outcome, filter.errorCode, filter.limit, filter.offset],
  );
  // Counted apart: a count over the page's rows would make every page read all of them first.
  const total = await countRequestOutcomes(db, scope, filter.outcome, filter.errorCode);
  return {
    total,
    requests: rows.map((row) => ({
      customId: row.custom_id,
      outcome: row.outcome,
      errorCode: row.error_code,
      errorMessage: row.error_message,
      batchLogId: Number(row.batch_log_id),
      retryRound: row.retry_round,
      promptTokens: row.prompt_tokens,
      completionTokens: row.completion_tokens,
      landedAt: row.created_at,
    })),
  };
}

/** How many final outcomes match a filter. */
async function countRequestOutcomes(
  db: Queryable,
  scope: OutcomeScope,
  outcome: RequestOutcomeKind | null,
  errorCode: string | null,
): Promise<number> {
  const { rows } = await db.query<{ total: string }>(
    `SELECT count(*) AS total FROM (${finalOutcomesSql(scope)}) f
     WHERE ($1::text IS NULL OR f.outcome = $1) AND ($2::text IS NULL OR f.error_code = $2)`,
    [outcome, errorCode],
  );
  return Number(rows[0]!.total);
}

/** The final failures of a scope by error code (most frequent first); a failure without a code is `unknown`. */
export async function readErrorSummary(
  db: Queryable,
  scope: OutcomeScope,
): Promise<{ errorCode: string; requests: number }[]> {
  const { rows } = await db.query<{ error_code: string; requests: number }>(
    `SELECT COALESCE(f.error_code, 'unknown') AS error_code, count(*)::int AS requests
     FROM (${finalOutcomesSql(scope)}) f WHERE f.outcome = 'failed'
     GROUP BY 1 ORDER BY 2 DESC, 1`,
  );
  return rows.map((row) => ({ errorCode: row.error_code, requests: row.requests }));
}
