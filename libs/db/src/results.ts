import { ResultErrorCode, type ResultRecord } from '@batchline/domain';
import type { BatchFinalizedEvent, ResultsParsedEvent, ResultsSummary } from '@batchline/events';
import type pg from 'pg';
import { type CopyValue, copyRows, copyTextField, copyTextInto } from './copy.ts';
import { DbError, PgErrorCode, pgErrorCode } from './errors.ts';
import { finalizeBatch } from './finalize.ts';
import { type TransactionSource, withTransaction } from './pool.ts';

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

interface Association {
  customId: string;
  sentenceId: number;
  viewpointId: number;
}

/** A chunk's rows, deduplicated and in one global order so that concurrent chunks take row locks alike. */
interface ChunkRows {
  results: ResultRecord[];
  associations: Association[];
}

/** What landing a chunk added: outcomes (they feed the batch counts) and associations. */
interface LandedCounts {
  succeeded: number;
  failed: number;
  associations: number;
}

const RESULT_COLUMNS = [
  'custom_id',
  'outcome',
  'error_code',
  'error_message',
  'review_sentence_id',
  'prompt_tokens',
  'completion_tokens',
] as const;

/** Errors for which a chunk is landed row by row, skipping what cannot land, instead of failing. */
const ROW_CONFLICT_CODES: ReadonlySet<string | undefined> = new Set([
  PgErrorCode.uniqueViolation,
  PgErrorCode.foreignKeyViolation,
]);

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function prepareChunkRows(records: readonly ResultRecord[]): ChunkRows {
  // The fetcher dedupes custom_ids already; first wins here too, so one bad chunk cannot violate its own keys.
  const byCustomId = new Map<string, ResultRecord>();
  for (const record of records) if (!byCustomId.has(record.customId)) byCustomId.set(record.customId, record);
  const results = [...byCustomId.values()].sort((a, b) => compareStrings(a.customId, b.customId));

  const associations: Association[] = [];
  for (const record of results) {
    if (record.outcome !== 'succeeded' || record.sentenceId === null) continue;
    for (const viewpointId of record.viewpointIds) {
      associations.push({ customId: record.customId, sentenceId: record.sentenceId, viewpointId });
    }
  }
  associations.sort((a, b) => a.sentenceId - b.sentenceId || a.viewpointId - b.viewpointId);
  // Sorted, a repeated pair (one sentence under two custom_ids, or an id twice in one answer) is adjacent.
  let kept = 0;
  for (const association of associations) {
    const previous = associations[kept - 1];
    if (previous?.sentenceId === association.sentenceId && previous.viewpointId === association.viewpointId)
      continue;
    associations[kept++] = association;
  }
  associations.length = kept;
  return { results, associations };
}

const resultValues = (record: ResultRecord): CopyValue[] => [
  record.customId,
  record.outcome,
  record.errorCode,
  record.errorMessage,
  record.sentenceId,
  record.promptTokens,
  record.completionTokens,
];

/** The fast path: plain COPY of every row. Fails with 23505/23503 when any row cannot land. */
async function copyChunkRows(
  client: pg.ClientBase,
  batchLogId: number,
  rows: ChunkRows,
): Promise<LandedCounts> {
  // Written straight as COPY text: these are the hot loops of landing a batch.
  let results = '';
  let succeeded = 0;
  for (const record of rows.results) {
    if (record.outcome === 'succeeded') succeeded += 1;
    results += `${batchLogId}\t${copyTextField(record.customId)}\t${record.outcome}\t${copyTextField(record.errorCode)}\t${copyTextField(record.errorMessage)}\t${copyTextField(record.sentenceId)}\t${copyTextField(record.promptTokens)}\t${copyTextField(record.completionTokens)}\n`;
  }
  await copyTextInto(client, 'batch_request_results', ['batch_log_id', ...RESULT_COLUMNS], results);
  let associations = '';
  for (const association of rows.associations) {
    associations += `${association.sentenceId}\t${association.viewpointId}\t${batchLogId}\n`;
  }
  await copyTextInto(
    client,
    'review_sentences_wl_spec_vp',
    ['review_sentence_id', 'wl_spec_vp_id', 'batch_log_id'],
    associations,
  );
  return {
    succeeded,
    failed: rows.results.length - succeeded,
    associations: rows.associations.length,
  };
}

/**
 * Lands what can land of a chunk through temp tables: results rows that exist already are skipped (with their
 * associations), associations that exist already (an earlier batch) are skipped, and a record naming a viewpoint
 * that has left the catalogue since the fetcher checked it is recorded as `unknown_viewpoint`, as contract §4
 * would have it. Counts only what was actually inserted.
 */
const LAND_SKIPPING_CONFLICTS = `
  WITH unknown_viewpoint AS (
    SELECT DISTINCT a.custom_id FROM chunk_associations a
    WHERE NOT EXISTS (SELECT 1 FROM wl_spec_vps v WHERE v.id = a.wl_spec_vp_id)
  ), inserted AS (
    INSERT INTO batch_request_results
      (batch_log_id, custom_id, outcome, error_code, error_message, review_sentence_id, prompt_tokens, completion_tokens)
    SELECT $1::bigint, r.custom_id,
           CASE WHEN u.custom_id IS NULL THEN r.outcome ELSE 'failed' END,
           CASE WHEN u.custom_id IS NULL THEN r.error_code ELSE $2 END,
           CASE WHEN u.custom_id IS NULL THEN r.error_message ELSE $3 END,
           r.review_sentence_id, r.prompt_tokens, r.completion_tokens
    FROM chunk_results r LEFT JOIN unknown_viewpoint u ON u.custom_id = r.custom_id
    ORDER BY r.ord
    ON CONFLICT (batch_log_id, custom_id) DO NOTHING
    RETURNING custom_id, outcome, review_sentence_id
  ), associated AS (
    INSERT INTO review_sentences_wl_spec_vp (review_sentence_id, wl_spec_vp_id, batch_log_id)
    SELECT a.review_sentence_id, a.wl_spec_vp_id, $1::bigint
    FROM chunk_associations a JOIN inserted i ON i.custom_id = a.custom_id AND i.outcome = 'succeeded'
    ORDER BY a.ord
    ON CONFLICT (review_sentence_id, wl_spec_vp_id) DO NOTHING
    RETURNING 1
  )
  SELECT
    (SELECT count(*) FROM inserted WHERE outcome = 'succeeded')::int AS succeeded,
    (SELECT count(*) FROM inserted WHERE outcome = 'failed')::int AS failed,
    (SELECT count(*) FROM associated)::int AS associations`;

async function landChunkRowsSkippingConflicts(
  client: pg.ClientBase,
  batchLogId: number,
  rows: ChunkRows,
): Promise<LandedCounts> {
  await client.query(
    `CREATE TEMP TABLE chunk_results (ord int, custom_id text, outcome text, error_code text, error_message text,
       review_sentence_id bigint, prompt_tokens int, completion_tokens int) ON COMMIT DROP`,
  );
  await client.query(
    `CREATE TEMP TABLE chunk_associations (ord int, custom_id text, review_sentence_id bigint, wl_spec_vp_id bigint)
     ON COMMIT DROP`,
  );
  await copyRows(
    client,
    'chunk_results',
    ['ord', ...RESULT_COLUMNS],
    rows.results.map((record, ord) => [ord, ...resultValues(record)]),
  );
  await copyRows(
    client,
    'chunk_associations',
    ['ord', 'custom_id', 'review_sentence_id', 'wl_spec_vp_id'],
    rows.associations.map((association, ord) => [
      ord,
      association.customId,
      association.sentenceId,
      association.viewpointId,
    ]),
  );
  const { rows: counts } = await client.query<LandedCounts>(LAND_SKIPPING_CONFLICTS, [
    batchLogId,
    ResultErrorCode.unknownViewpoint,
    'a viewpoint of this answer left wl_spec_vps before the results landed',
  ]);
  return counts[0]!;
}

async function landChunkRows(
  client: pg.ClientBase,
  batchLogId: number,
  rows: ChunkRows,
): Promise<LandedCounts> {
  await client.query('SAVEPOINT chunk_rows');
  try {
    const counts = await copyChunkRows(client, batchLogId, rows);
    await client.query('RELEASE SAVEPOINT chunk_rows');
    return counts;
  } catch (err) {
    if (!ROW_CONFLICT_CODES.has(pgErrorCode(err))) throw err;
    await client.query('ROLLBACK TO SAVEPOINT chunk_rows');
    return landChunkRowsSkippingConflicts(client, batchLogId, rows);
  }
}

interface BatchProgressRow {
  status: number;
  expected_chunks: number | null;
  results_summary: ResultsSummary | null;
}

/**
 * Lands one `batch.results.parsed` chunk exactly once, in one transaction:
 * the ledger row `(batch, chunk_seq)` makes a repeated chunk a no-op; the records are COPYed in (falling back to
 * skipping rows that exist already); the batch counts grow under the batch row lock; and whichever chunk commits
 * last, in any order, sees every ledger row and sets the final status with its `batch.finalized` outbox event.
 */
export async function applyResultsChunk(
  db: TransactionSource,
  event: ResultsParsedEvent,
  { finalizedEventHeaders = {} }: ApplyChunkOptions = {},
): Promise<ChunkOutcome> {
  const { batchLogId, chunkSeq } = event;
  return withTransaction(db, async (client) => {
    // A concurrent delivery of the same chunk waits here for the first one and then finds its row.
    const ledger = await client.query(
      `INSERT INTO batch_result_chunks (batch_log_id, chunk_seq, records, succeeded, failed, associations)
       VALUES ($1, $2, $3, 0, 0, 0) ON CONFLICT (batch_log_id, chunk_seq) DO NOTHING`,
      [batchLogId, chunkSeq, event.records.length],
    );
    if (ledger.rowCount !== 1)
      return { applied: false, finalized: null, written: { outcomes: 0, associations: 0 } };

    const landed = await landChunkRows(client, batchLogId, prepareChunkRows(event.records));
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
    if (progress.status !== 1 || progress.expected_chunks === null || progress.results_summary === null) {
      return { applied: true, finalized: null, written };
    }

    const { rows: ledgerRows } = await client.query<{ landed: number }>(
      'SELECT count(*)::int AS landed FROM batch_result_chunks WHERE batch_log_id = $1 AND chunk_seq < $2',
      [batchLogId, progress.expected_chunks],
    );
    if (ledgerRows[0]!.landed < progress.expected_chunks) return { applied: true, finalized: null, written };

    const finalized = await finalizeBatch(
      client,
      batchLogId,
      progress.results_summary,
      finalizedEventHeaders,
    );
    return { applied: true, finalized, written };
  });
}
