import { copyRows, copyTextField, copyTextInto, PgErrorCode, pgErrorCode } from '@batchline/db';
import type { ShippedRecord } from '@batchline/events';
import type pg from 'pg';
import type { LandingPlan, PreparedChunk } from './landing-plan.ts';

/** What landing a chunk added: outcomes (they feed the batch counts) and target rows. */
export interface LandedCounts {
  succeeded: number;
  failed: number;
  /** Rows inserted into the job type's target table (`associations` in the ledger and events). */
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
  'cached_prompt_tokens',
] as const;

/** Errors for which a chunk is landed row by row, skipping what cannot land, instead of failing. */
const ROW_CONFLICT_CODES: ReadonlySet<string | undefined> = new Set([
  PgErrorCode.uniqueViolation,
  PgErrorCode.foreignKeyViolation,
]);

/** `batch_request_results.review_sentence_id` holds an integer request id; a string one lives in custom_id only. */
const integerRequestId = (record: ShippedRecord): number | null =>
  typeof record.requestId === 'number' ? record.requestId : null;

/** The target's columns as COPY lists them: the prepared fields, then the batch. */
const targetColumnList = (plan: LandingPlan): string[] => [
  ...plan.columns.map((column) => column.quoted),
  'batch_log_id',
];

/** The fast path: plain COPY of every row. Fails with 23505/23503 when any row cannot land. */
async function copyChunkRows(
  client: pg.ClientBase,
  plan: LandingPlan,
  batchLogId: number,
  chunk: PreparedChunk,
): Promise<LandedCounts> {
  // Written straight as COPY text: these are the hot loops of landing a batch.
  let results = '';
  let succeeded = 0;
  for (const record of chunk.results) {
    if (record.outcome === 'succeeded') succeeded += 1;
    results += `${batchLogId}\t${copyTextField(record.customId)}\t${record.outcome}\t${copyTextField(record.errorCode)}\t${copyTextField(record.errorMessage)}\t${copyTextField(integerRequestId(record))}\t${copyTextField(record.promptTokens)}\t${copyTextField(record.completionTokens)}\t${copyTextField(record.cachedPromptTokens ?? null)}\n`;
  }
  await copyTextInto(client, 'batch_request_results', ['batch_log_id', ...RESULT_COLUMNS], results);
  let rows = '';
  for (const row of chunk.rows) rows += `${row.fields}\t${batchLogId}\n`;
  await copyTextInto(client, plan.jobType.target.quoted, targetColumnList(plan), rows);
  return { succeeded, failed: chunk.results.length - succeeded, associations: chunk.rows.length };
}

/** Staging columns beside the target's: `$` cannot start a declared column name, so these never collide. */
const ORD = '"$ord"';
const CUSTOM_ID = '"$custom_id"';

/** Statements of the conflict-skipping path of one job type, built once from its quoted identifiers. */
interface ConflictPath {
  createStaging: string;
  land: string;
  /** The error code of each catalogue-referencing column, bound as `$3`, `$4`, … in `land`. */
  referenceCodes: string[];
}

const conflictPaths = new WeakMap<LandingPlan, ConflictPath>();

function conflictPath(plan: LandingPlan): ConflictPath {
  const cached = conflictPaths.get(plan);
  if (cached) return cached;
  const { target, catalogue } = plan.jobType;
  const columns = plan.columns.map((column) => column.quoted).join(', ');
  const references = catalogue === null ? [] : plan.columns.filter((c) => c.referenceErrorCode !== null);
  // A value that has left the catalogue since the fetcher checked it: the request fails with the column's code.
  const gone = references.map(
    (column) =>
      `NOT EXISTS (SELECT 1 FROM (${catalogue!.selectSql}) c WHERE c.key = s.${column.quoted}::text)`,
  );
  const unknownReference =
    gone.length === 0
      ? 'SELECT NULL::text AS custom_id, NULL::text AS error_code WHERE false'
      : `SELECT DISTINCT ON (s.${CUSTOM_ID}) s.${CUSTOM_ID} AS custom_id,
                CASE ${gone.map((test, i) => `WHEN ${test} THEN $${i + 3}`).join(' ')} END AS error_code
         FROM chunk_rows s WHERE ${gone.join(' OR ')}
         ORDER BY s.${CUSTOM_ID}, s.${ORD}`;
  const path: ConflictPath = {
    createStaging: `CREATE TEMP TABLE chunk_rows (${ORD} int, ${CUSTOM_ID} text, ${plan.columns
      .map((column) => `${column.quoted} ${column.type}`)
      .join(', ')}) ON COMMIT DROP`,
    land: `
      WITH unknown_reference AS (${unknownReference}),
      inserted AS (
        INSERT INTO batch_request_results
          (batch_log_id, custom_id, outcome, error_code, error_message, review_sentence_id, prompt_tokens, completion_tokens,
           cached_prompt_tokens)
        SELECT $1::bigint, r.custom_id,
               CASE WHEN u.custom_id IS NULL THEN r.outcome ELSE 'failed' END,
               CASE WHEN u.custom_id IS NULL THEN r.error_code ELSE u.error_code END,
               CASE WHEN u.custom_id IS NULL THEN r.error_message ELSE $2 END,
               r.review_sentence_id, r.prompt_tokens, r.completion_tokens, r.cached_prompt_tokens
        FROM chunk_results r LEFT JOIN unknown_reference u ON u.custom_id = r.custom_id
        ORDER BY r.ord
        ON CONFLICT (batch_log_id, custom_id) DO NOTHING
        RETURNING custom_id, outcome
      ), landed AS (
        INSERT INTO ${target.quoted} (${columns}, batch_log_id)
        SELECT ${plan.columns.map((column) => `s.${column.quoted}`).join(', ')}, $1::bigint
        FROM chunk_rows s JOIN inserted i ON i.custom_id = s.${CUSTOM_ID} AND i.outcome = 'succeeded'
        ORDER BY s.${ORD}
        ON CONFLICT (${target.key.map((name) => plan.columns.find((c) => c.name === name)!.quoted).join(', ')})
        DO NOTHING
        RETURNING 1
      )
      SELECT
        (SELECT count(*) FROM inserted WHERE outcome = 'succeeded')::int AS succeeded,
        (SELECT count(*) FROM inserted WHERE outcome = 'failed')::int AS failed,
        (SELECT count(*) FROM landed)::int AS associations`,
    referenceCodes: references.map((column) => column.referenceErrorCode!),
  };
  conflictPaths.set(plan, path);
  return path;
}

/**
 * Lands what can land of a chunk through temp tables: outcomes that exist already are skipped (with their rows),
 * rows whose key exists already (an earlier batch) are skipped, and a request naming a catalogue key that has
 * left the catalogue since the fetcher checked it is recorded as failed with the column's error code, as
 * docs/interface.md §4 would have it. Counts only what was actually inserted.
 */
async function landChunkRowsSkippingConflicts(
  client: pg.ClientBase,
  plan: LandingPlan,
  batchLogId: number,
  chunk: PreparedChunk,
): Promise<LandedCounts> {
  const path = conflictPath(plan);
  await client.query(
    `CREATE TEMP TABLE chunk_results (ord int, custom_id text, outcome text, error_code text, error_message text,
       review_sentence_id bigint, prompt_tokens int, completion_tokens int, cached_prompt_tokens int) ON COMMIT DROP`,
  );
  await client.query(path.createStaging);
  await copyRows(
    client,
    'chunk_results',
    ['ord', ...RESULT_COLUMNS],
    chunk.results.map((record, ord) => [
      ord,
      record.customId,
      record.outcome,
      record.errorCode,
      record.errorMessage,
      integerRequestId(record),
      record.promptTokens,
      record.completionTokens,
      record.cachedPromptTokens ?? null,
    ]),
  );
  let staged = '';
  chunk.rows.forEach((row, ord) => {
    staged += `${ord}\t${copyTextField(row.customId)}\t${row.fields}\n`;
  });
  await copyTextInto(client, 'chunk_rows', [ORD, CUSTOM_ID, ...plan.columns.map((c) => c.quoted)], staged);
  const catalogueName = plan.jobType.catalogue?.table ?? 'the catalogue';
  const { rows: counts } = await client.query<LandedCounts>(path.land, [
    batchLogId,
    `a value of this answer left ${catalogueName} before the results landed`,
    ...path.referenceCodes,
  ]);
  return counts[0]!;
}

/**
 * Lands a chunk's records into `batch_request_results` and the job type's target table (checked, deduplicated
 * and in one order by `prepareChunk`): COPY first, and when any row cannot land (its key exists already, or it
 * names a catalogue key gone since) the conflict-skipping path instead, from a savepoint so the ledger row stays.
 */
export async function landChunkRows(
  client: pg.ClientBase,
  plan: LandingPlan,
  batchLogId: number,
  chunk: PreparedChunk,
): Promise<LandedCounts> {
  await client.query('SAVEPOINT chunk_rows');
  try {
    const counts = await copyChunkRows(client, plan, batchLogId, chunk);
    await client.query('RELEASE SAVEPOINT chunk_rows');
    return counts;
  } catch (err) {
    if (!ROW_CONFLICT_CODES.has(pgErrorCode(err))) throw err;
    await client.query('ROLLBACK TO SAVEPOINT chunk_rows');
    return landChunkRowsSkippingConflicts(client, plan, batchLogId, chunk);
  }
}
