import { BatchStatus, type BatchStatusCode, type ProviderName } from '@batchline/domain';
import type { Queryable } from './pool.ts';

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

/** One row of `batch_jobs_vp_logs`. */
export interface BatchLog {
  id: number;
  provider: ProviderName;
  batchId: string;
  jobType: string;
  model: string | null;
  totalSentences: number;
  processedSentences: number;
  failedSentences: number;
  status: BatchStatusCode;
  logDetails: Record<string, unknown> | null;
  createdAt: Date;
  updatedAt: Date;
  providerStatus: string | null;
  requestCounts: RequestCounts | null;
  inputFileId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  pollAttempt: number;
  nextPollAt: Date;
  leaseOwner: string | null;
  leaseUntil: Date | null;
  leaseVersion: number;
  providerTerminalAt: Date | null;
  resultsLandedAt: Date | null;
  finalNotifiedAt: Date | null;
  expectedChunks: number | null;
  /** The fetcher's summary of the batch as the persister stored it with the last chunk (its shape is theirs). */
  resultsSummary: Record<string, unknown> | null;
  lastPollError: string | null;
  lastPollErrorAt: Date | null;
  /** The job this batch is a part or retry round of (null for batches recorded before jobs existed). */
  batchJobId: number | null;
  /** Which part of its job's submission (0-based); null for a retry round. */
  partIndex: number | null;
  /** For a retry round, the batch whose failures it resubmits. */
  parentBatchLogId: number | null;
  /** 0 for a part, 1 for the first retry round, ... */
  retryRound: number;
}

interface BatchLogRow {
  id: string;
  provider: ProviderName;
  batch_id: string;
  job_type: string;
  model: string | null;
  total_sentences: number;
  processed_sentences: number;
  failed_sentences: number;
  status: BatchStatusCode;
  log_details: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  provider_status: string | null;
  request_counts: RequestCounts | null;
  input_file_id: string | null;
  output_file_id: string | null;
  error_file_id: string | null;
  poll_attempt: number;
  next_poll_at: Date;
  lease_owner: string | null;
  lease_until: Date | null;
  lease_version: string;
  provider_terminal_at: Date | null;
  results_landed_at: Date | null;
  final_notified_at: Date | null;
  expected_chunks: number | null;
  results_summary: Record<string, unknown> | null;
  last_poll_error: string | null;
  last_poll_error_at: Date | null;
  batch_job_id: string | null;
  part_index: number | null;
  parent_batch_log_id: string | null;
  retry_round: number;
}

const toBatchLog = (row: BatchLogRow): BatchLog => ({
  id: Number(row.id),
  provider: row.provider,
  batchId: row.batch_id,
  jobType: row.job_type,
  model: row.model,
  totalSentences: row.total_sentences,
  processedSentences: row.processed_sentences,
  failedSentences: row.failed_sentences,
  status: row.status,
  logDetails: row.log_details,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  providerStatus: row.provider_status,
  requestCounts: row.request_counts,
  inputFileId: row.input_file_id,
  outputFileId: row.output_file_id,
  errorFileId: row.error_file_id,
  pollAttempt: row.poll_attempt,
  nextPollAt: row.next_poll_at,
  leaseOwner: row.lease_owner,
  leaseUntil: row.lease_until,
  leaseVersion: Number(row.lease_version),
  providerTerminalAt: row.provider_terminal_at,
  resultsLandedAt: row.results_landed_at,
  finalNotifiedAt: row.final_notified_at,
  expectedChunks: row.expected_chunks,
  resultsSummary: row.results_summary,
  lastPollError: row.last_poll_error,
  lastPollErrorAt: row.last_poll_error_at,
  batchJobId: row.batch_job_id === null ? null : Number(row.batch_job_id),
  partIndex: row.part_index,
  parentBatchLogId: row.parent_batch_log_id === null ? null : Number(row.parent_batch_log_id),
  retryRound: row.retry_round,
});

export interface NewBatchLog {
  provider: ProviderName;
  /** The provider's batch id. */
  batchId: string;
  model: string | null;
  jobType?: string;
  totalSentences: number;
  inputFileId: string | null;
  /** How long after submission the first status check is due. */
  firstPollDelayMs: number;
  /**
   * The ids of the batch's requests (custom_id `<prefix>-<id>`), when we built its requests ourselves: recorded
   * with the batch so that its results are matched without reading the input file again. Integers or strings.
   */
  requestIds?: readonly number[] | readonly string[];
  /** The job (`insertBatchJob`) this batch belongs to, and its place in it. */
  job?: { batchJobId: number; partIndex: number | null; parentBatchLogId: number | null; retryRound: number };
}

/** Integer ids go to `sentence_ids` (as before job types), string ids to `request_ids`. */
const recordedIds = (
  ids: NewBatchLog['requestIds'],
): [readonly number[] | null, readonly string[] | null] => {
  if (ids === undefined) return [null, null];
  return ids.every((id) => typeof id === 'number')
    ? [ids as readonly number[], null]
    : [null, ids as readonly string[]];
};

/**
 * Records a pending batch. Adopting a provider batch that is already recorded returns its existing id with
 * `created: false` and changes nothing.
 */
export async function insertBatchLog(
  db: Queryable,
  batch: NewBatchLog,
): Promise<{ id: number; created: boolean }> {
  // One statement: the batch and its request ids are recorded together or not at all.
  const inserted = await db.query<{ id: string }>(
    `WITH batch AS (
       INSERT INTO batch_jobs_vp_logs
         (provider, batch_id, model, job_type, total_sentences, input_file_id, next_poll_at,
          batch_job_id, part_index, parent_batch_log_id, retry_round)
       VALUES ($1, $2, $3, COALESCE($4, 'specific_viewpoint'), $5, $6, now() + $7::float8 * interval '1 millisecond',
               $10, $11, $12, COALESCE($13, 0))
       ON CONFLICT (provider, batch_id) DO NOTHING
       RETURNING id
     ), requests AS (
       INSERT INTO batch_request_ids (batch_log_id, sentence_ids, request_ids)
       SELECT id, $8::bigint[], $9::text[] FROM batch WHERE $8::bigint[] IS NOT NULL OR $9::text[] IS NOT NULL
     )
     SELECT id FROM batch`,
    [
      batch.provider,
      batch.batchId,
      batch.model,
      batch.jobType ?? null,
      batch.totalSentences,
      batch.inputFileId,
      batch.firstPollDelayMs,
      ...recordedIds(batch.requestIds),
      batch.job?.batchJobId ?? null,
      batch.job?.partIndex ?? null,
      batch.job?.parentBatchLogId ?? null,
      batch.job?.retryRound ?? null,
    ],
  );
  const created = inserted.rows[0];
  if (created) return { id: Number(created.id), created: true };
  // The conflicting row is committed (ON CONFLICT waited for it), so this sees it.
  const existing = await db.query<{ id: string }>(
    'SELECT id FROM batch_jobs_vp_logs WHERE provider = $1 AND batch_id = $2',
    [batch.provider, batch.batchId],
  );
  return { id: Number(existing.rows[0]!.id), created: false };
}

export async function getBatchLog(db: Queryable, id: number): Promise<BatchLog | null> {
  const { rows } = await db.query<BatchLogRow>('SELECT * FROM batch_jobs_vp_logs WHERE id = $1', [id]);
  return rows[0] ? toBatchLog(rows[0]) : null;
}

/** What `status --status` filters on: a batch (or job) not final yet, completed, or failed. */
export type StatusFilter = 'pending' | 'completed' | 'failed';

/** Which batch logs or jobs a listing shows; null or absent filters show all. */
export interface ListFilters {
  limit: number;
  jobType?: string | null;
  status?: StatusFilter | null;
  /** Only those created at or after it. */
  since?: Date | null;
}

const BATCH_STATUS_OF: Readonly<Record<StatusFilter, number>> = {
  pending: BatchStatus.pending,
  completed: BatchStatus.completed,
  failed: BatchStatus.failed,
};

/** The most recently created batch logs (filtered), newest first. */
export async function listBatchLogs(
  db: Queryable,
  { limit, jobType = null, status = null, since = null }: ListFilters,
): Promise<BatchLog[]> {
  const { rows } = await db.query<BatchLogRow>(
    `SELECT * FROM batch_jobs_vp_logs
     WHERE ($2::text IS NULL OR job_type = $2) AND ($3::smallint IS NULL OR status = $3)
       AND ($4::timestamptz IS NULL OR created_at >= $4)
     ORDER BY created_at DESC, id DESC LIMIT $1`,
    [limit, jobType, status === null ? null : BATCH_STATUS_OF[status], since],
  );
  return rows.map(toBatchLog);
}

/** A job's batches: its parts in order, then its retry rounds in the order they were made. */
export async function listJobBatchLogs(db: Queryable, batchJobId: number): Promise<BatchLog[]> {
  const { rows } = await db.query<BatchLogRow>(
    `SELECT * FROM batch_jobs_vp_logs WHERE batch_job_id = $1
     ORDER BY retry_round, part_index NULLS LAST, id`,
    [batchJobId],
  );
  return rows.map(toBatchLog);
}

/**
 * The custom_ids (`<prefix>-<id>`) of a batch's requests as `insertBatchLog` recorded them, or null when the batch
 * was adopted and only its input file knows them.
 */
export async function loadRequestCustomIds(
  db: Queryable,
  batchLogId: number,
  customIdPrefix = 'rs',
): Promise<Set<string> | null> {
  // One text value instead of an array of 50,000 strings for the driver to parse; ids never hold a comma.
  const { rows } = await db.query<{ ids: string }>(
    `SELECT array_to_string(COALESCE(request_ids, sentence_ids::text[]), ',') AS ids
     FROM batch_request_ids WHERE batch_log_id = $1`,
    [batchLogId],
  );
  const row = rows[0];
  if (!row) return null;
  const ids = new Set<string>();
  if (row.ids.length > 0) for (const id of row.ids.split(',')) ids.add(`${customIdPrefix}-${id}`);
  return ids;
}
