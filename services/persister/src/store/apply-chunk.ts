import { DbError, type TransactionSource, withTransaction } from '@batchline/db';
import { BatchStatus, type BatchStatusCode } from '@batchline/domain';
import type { BatchFinalizedEvent, ResultsParsedEvent, ResultsSummary } from '@batchline/events';
import type { JobType } from '@batchline/job-types';
import type pg from 'pg';
import { landChunkRows } from './chunk-rows.ts';
import { finalizeBatch } from './finalize.ts';
import { landingPlan, prepareChunk } from './landing-plan.ts';

export interface ChunkOutcome {
  /** False when this chunk had landed before (a redelivery or replay): nothing was written. */
  applied: boolean;
  /** Set when this chunk completed the batch: the event enqueued in the outbox with the final status. */
  finalized: BatchFinalizedEvent | null;
  /** Rows this chunk wrote (none when it had landed before). */
  written: { outcomes: number; associations: number };
}

export interface ApplyChunkOptions {
  /** Headers of the `batch.finalized` event, should this chunk complete the batch (e.g. `traceparent`). */
  finalizedEventHeaders?: Record<string, string>;
}

/** The batch row as a chunk leaves it; `results_summary` is the fetcher's summary, stored by the last chunk. */
interface BatchProgressRow {
  status: BatchStatusCode;
  expected_chunks: number | null;
  results_summary: ResultsSummary | null;
}

/**
 * Lands one `batch.results.parsed` chunk of `jobType` (the job type the chunk names) exactly once, in one
 * transaction: the ledger row `(batch, chunk_seq)` makes a repeated chunk a no-op; the outcomes and the job type's
 * rows are COPYed in (falling back to skipping rows that exist already); the batch counts grow under the batch
 * row lock; and whichever chunk commits last, in any order, sees every ledger row and sets the final status with
 * its `batch.finalized` outbox event. The chunk's raw answers (`keepRawAnswers`) are kept in the same
 * transaction. A chunk whose rows do not fit the job type throws `MalformedChunkError`
 * before anything is written.
 */
export async function applyResultsChunk(
  db: TransactionSource,
  jobType: JobType,
  event: ResultsParsedEvent,
  { finalizedEventHeaders = {} }: ApplyChunkOptions = {},
): Promise<ChunkOutcome> {
  const { batchLogId, chunkSeq } = event;
  const plan = landingPlan(jobType);
  const chunk = prepareChunk(plan, event.records);
  return withTransaction(db, async (client) => {
    // A concurrent delivery of the same chunk waits here for the first one and then finds its row.
    const ledger = await client.query(
      `INSERT INTO batch_result_chunks (batch_log_id, chunk_seq, records, succeeded, failed, associations)
       VALUES ($1, $2, $3, 0, 0, 0) ON CONFLICT (batch_log_id, chunk_seq) DO NOTHING`,
      [batchLogId, chunkSeq, event.records.length],
    );
    if (ledger.rowCount !== 1)
      return { applied: false, finalized: null, written: { outcomes: 0, associations: 0 } };

    const landed = await landChunkRows(client, plan, batchLogId, chunk);
    if (event.rawAnswers?.length) await keepRawAnswers(client, batchLogId, event.rawAnswers);
    const written = { outcomes: landed.succeeded + landed.failed, associations: landed.associations };
    await client.query(
      `UPDATE batch_result_chunks SET succeeded = $3, failed = $4, associations = $5
       WHERE batch_log_id = $1 AND chunk_seq = $2`,
      [batchLogId, chunkSeq, landed.succeeded, landed.failed, landed.associations],
    );

    // Takes the batch row lock: chunks of one batch serialise from here to their commit, so the last one to
    // get here sees every other chunk's ledger row.
    const { rows } = await client.query<BatchProgressRow>(
      `UPDATE batch_jobs_vp_logs
       SET processed_sentences = processed_sentences + $2,
           failed_sentences = failed_sentences + $3,
           expected_chunks = COALESCE($4, expected_chunks),
           results_summary = COALESCE($5::jsonb, results_summary)
       WHERE id = $1
       RETURNING status, expected_chunks, results_summary`,
      [
        batchLogId,
        landed.succeeded,
        landed.failed,
        event.chunkCount,
        event.summary === null ? null : JSON.stringify(event.summary),
      ],
    );
    const progress = rows[0];
    if (!progress) throw new DbError('batch_not_found', `batch log ${batchLogId} does not exist`);
    const finalized = await finalizeIfComplete(client, batchLogId, progress, finalizedEventHeaders);
    return { applied: true, finalized, written };
  });
}

/**
 * Finalizes the batch when this chunk completed it: still pending, the last chunk (count and summary) landed, and
 * every chunk's ledger row is there. The caller holds the batch row lock.
 */
async function finalizeIfComplete(
  client: pg.ClientBase,
  batchLogId: number,
  progress: BatchProgressRow,
  eventHeaders: Record<string, string>,
): Promise<BatchFinalizedEvent | null> {
  const { status, expected_chunks: expectedChunks, results_summary: summary } = progress;
  if (status !== BatchStatus.pending || expectedChunks === null || summary === null) return null;
  const { rows } = await client.query<{ landed: number }>(
    'SELECT count(*)::int AS landed FROM batch_result_chunks WHERE batch_log_id = $1 AND chunk_seq < $2',
    [batchLogId, expectedChunks],
  );
  if (rows[0]!.landed < expectedChunks) return null;
  return finalizeBatch(client, batchLogId, summary, eventHeaders);
}

/**
 * Keeps the chunk's raw answers (`batch_request_answers`). The ledger row makes a repeated chunk a no-op already;
 * ON CONFLICT keeps the first answer should a re-fetch ship a request's line in another chunk.
 */
async function keepRawAnswers(
  client: pg.ClientBase,
  batchLogId: number,
  answers: NonNullable<ResultsParsedEvent['rawAnswers']>,
): Promise<void> {
  await client.query(
    `INSERT INTO batch_request_answers (batch_log_id, custom_id, answer)
     SELECT $1, a.custom_id, a.answer FROM unnest($2::text[], $3::text[]) AS a(custom_id, answer)
     ON CONFLICT (batch_log_id, custom_id) DO NOTHING`,
    [batchLogId, answers.map(([customId]) => customId), answers.map(([, answer]) => answer)],
  );
}
