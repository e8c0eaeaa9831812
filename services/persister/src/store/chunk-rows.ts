import {
  type CopyValue,
  copyRows,
  copyTextField,
  copyTextInto,
  PgErrorCode,
  pgErrorCode,
} from '@batchline/db';
import { ResultErrorCode, type ResultRecord } from '@batchline/domain';
import type pg from 'pg';

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
export interface LandedCounts {
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
 * that has left the catalogue since the fetcher checked it is recorded as `unknown_viewpoint`, as docs/interface.md §4
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

/**
 * Lands a chunk's records (deduplicated, in one order): COPY first, and when any row cannot land (it exists
 * already, or names a viewpoint gone from the catalogue) the conflict-skipping path instead, from a savepoint so
 * the ledger row stays.
 */
export async function landChunkRows(
  client: pg.ClientBase,
  batchLogId: number,
  records: readonly ResultRecord[],
): Promise<LandedCounts> {
  const rows = prepareChunkRows(records);
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
