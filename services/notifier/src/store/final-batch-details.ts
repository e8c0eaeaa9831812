import type { Queryable } from '@batchline/db';

/** A batch-level error of the provider, as the persister records it in `log_details.providerErrors`. */
interface LoggedProviderError {
  code: string | null;
  message: string | null;
  line: number | null;
}

/**
 * What the final message of a batch says beyond its `batch.finalized` event: job type, model, token usage, provider
 * errors.
 */
export interface FinalBatchDetails {
  /** `batch_jobs_vp_logs.job_type`: what the batch's requests were and where their rows landed. */
  jobType: string;
  model: string | null;
  promptTokens: number;
  completionTokens: number;
  /** The part of `promptTokens` read from the provider's prompt cache (priced at the cached-input price). */
  cachedPromptTokens: number;
  /** The provider's batch-level errors (e.g. why it failed a batch's input). */
  providerErrors: LoggedProviderError[];
  /** Requests with no line in either result file. */
  missingResults: number;
  /** Why the result files could not be downloaded, when they could not. */
  downloadError: string | null;
  /** Why the input file could not be read, when it could not. */
  inputUnavailable: string | null;
}

/**
 * Reads the details of a final batch, or null when there is no such batch log. `log_details` is read defensively:
 * a batch ended before the persister recorded its summary has none of its fields.
 */
export async function getFinalBatchDetails(
  db: Queryable,
  batchLogId: number,
): Promise<FinalBatchDetails | null> {
  const { rows } = await db.query<{
    job_type: string;
    model: string | null;
    log_details: Record<string, unknown> | null;
    prompt_tokens: number;
    completion_tokens: number;
    cached_prompt_tokens: number;
  }>(
    `SELECT b.job_type, b.model, b.log_details,
            COALESCE((SELECT sum(r.prompt_tokens) FROM batch_request_results r WHERE r.batch_log_id = b.id), 0)::float8
              AS prompt_tokens,
            COALESCE((SELECT sum(r.completion_tokens) FROM batch_request_results r WHERE r.batch_log_id = b.id), 0)::float8
              AS completion_tokens,
            COALESCE((SELECT sum(r.cached_prompt_tokens) FROM batch_request_results r WHERE r.batch_log_id = b.id), 0)::float8
              AS cached_prompt_tokens
     FROM batch_jobs_vp_logs b WHERE b.id = $1`,
    [batchLogId],
  );
  const row = rows[0];
  if (!row) return null;
  const details = row.log_details ?? {};
  return {
    jobType: row.job_type,
    model: row.model,
    promptTokens: row.prompt_tokens,
    completionTokens: row.completion_tokens,
    cachedPromptTokens: row.cached_prompt_tokens,
    providerErrors: Array.isArray(details.providerErrors) ? details.providerErrors : [],
    missingResults: typeof details.missingResults === 'number' ? details.missingResults : 0,
    downloadError: typeof details.downloadError === 'string' ? details.downloadError : null,
    inputUnavailable: typeof details.inputUnavailable === 'string' ? details.inputUnavailable : null,
  };
}
