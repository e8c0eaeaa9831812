import type { Readable } from 'node:stream';
import type { JobTypeSet, TargetTable } from '@batchline/job-types';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { DbError } from './errors.ts';
import {
  finalOutcomesSql,
  type OutcomeScope,
  readScopeJobType,
  scopeBatchLogsSql,
  scopeKey,
} from './request-outcomes.ts';

/**
 * What an export holds: each request's final outcome, the rows its results landed in the target table, or the
 * raw answers kept for a job type declaring `keepRawAnswers`.
 */
export const EXPORT_CONTENTS = ['outcomes', 'rows', 'answers'] as const;
export type ExportContent = (typeof EXPORT_CONTENTS)[number];
export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRequest {
  scope: OutcomeScope;
  what: ExportContent;
  format: ExportFormat;
  /** The job type's target table, where `rows` come from (not needed for `outcomes`). */
  target: TargetTable | null;
}

/** The landed rows of a scope: every declared column, then batchline's `batch_log_id` and `created_at`. */
function landedRowsSql(scope: OutcomeScope, target: TargetTable): string {
  const columns = [...target.idColumns, ...target.valueColumns];
  const quotedByName = new Map(columns.map((column) => [column.name, column.quoted]));
  const key = target.key.map((name) => quotedByName.get(name) ?? `"${name}"`);
  return `SELECT ${columns.map((column) => column.quoted).join(', ')}, "batch_log_id", "created_at"
    FROM ${target.quoted} WHERE "batch_log_id" IN (${scopeBatchLogsSql(scope)})
    ORDER BY "batch_log_id", ${key.join(', ')}`;
}

/** The kept raw answers of a scope, each result line as the provider returned it. */
const rawAnswersSql = (scope: OutcomeScope): string =>
  `SELECT "custom_id", "batch_log_id", "answer" FROM batch_request_answers
    WHERE "batch_log_id" IN (${scopeBatchLogsSql(scope)}) ORDER BY "batch_log_id", "custom_id"`;

/**
 * The `COPY ... TO STDOUT` of an export. CSV is Postgres's own (header line, fields with commas, quotes or line
 * breaks quoted). JSONL is one `row_to_json` per line, copied in CSV mode with a quote and delimiter that JSON
 * text never holds (it escapes every control character), so that each line is the JSON exactly as Postgres wrote it.
 */
export function exportCopySql({ scope, what, format, target }: ExportRequest): string {
  if (what === 'rows' && target === null) throw new TypeError('an export of rows needs the target table');
  const query =
    what === 'outcomes'
      ? finalOutcomesSql(scope)
      : what === 'answers'
        ? rawAnswersSql(scope)
        : landedRowsSql(scope, target!);
  return format === 'csv'
    ? `COPY (${query}) TO STDOUT WITH (FORMAT csv, HEADER true)`
    : `COPY (SELECT row_to_json(x)::text FROM (${query}) x) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;
}

/**
 * Opens an export as a byte stream straight from Postgres (COPY TO STDOUT): nothing is held beyond the stream's
 * buffer, and the connection is read only as fast as the consumer reads (backpressure). The connection goes back
 * to the pool when the stream ends, and is closed if the consumer stops early (an unfinished COPY is not reusable).
 * A missing target table is refused before any byte is sent.
 */
export async function openExport(pool: pg.Pool, request: ExportRequest): Promise<Readable> {
  const client = await pool.connect();
  let released = false;
  const release = (error?: Error) => {
    if (released) return;
    released = true;
    client.release(error);
  };
  try {
    if (request.what === 'rows' && request.target !== null) {
      const { target } = request;
      const { rows } = await client.query<{ present: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS present',
        [target.quoted],
      );
      if (!rows[0]!.present) {
        throw new DbError('export_table_missing', `the target table ${target.name} does not exist`);
      }
    }
    // An export may outlast the pool's statement timeout; RESET restores the connection's own afterwards.
    await client.query('SET statement_timeout = 0');
  } catch (error) {
    release();
    throw error;
  }
  const stream = client.query(copyTo(exportCopySql(request)));
  stream.once('end', () => {
    client.query('RESET statement_timeout').then(
      () => release(),
      (error: Error) => release(error),
    );
  });
  stream.once('error', (error) => release(error));
  stream.once('close', () => {
    if (!stream.readableEnded) release(new Error('export stopped before its end'));
  });
  return stream;
}

/**
 * Opens the export of a batch or job (`openExport`), its rows read from its job type's target table. Refuses with
 * a DbError: `batch_not_found` / `job_not_found`, `job_type_unknown` (rows of a job type not declared here),
 * `export_table_missing`.
 */
export async function openScopeExport(
  pool: pg.Pool,
  jobTypes: JobTypeSet,
  { scope, what, format }: Omit<ExportRequest, 'target'>,
): Promise<Readable> {
  const jobType = await readScopeJobType(pool, scope);
  if (jobType === null) {
    throw 'batchJobId' in scope
      ? new DbError('job_not_found', `job ${scope.batchJobId} does not exist`)
      : new DbError('batch_not_found', `batch log ${scope.batchLogId} does not exist`);
  }
  const declared = jobTypes.get(jobType) ?? null;
  if (declared === null && what === 'rows') {
    throw new DbError(
      'job_type_unknown',
      `${scopeKey(scope)} is of job type ${jobType}, which is not declared here, so where its rows are is unknown`,
    );
  }
  return openExport(pool, { scope, what, format, target: declared?.target ?? null });
}
