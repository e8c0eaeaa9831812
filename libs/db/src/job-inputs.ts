import type pg from 'pg';
import { copyRows } from './copy.ts';
import type { Queryable } from './pool.ts';

/** One request's input as `batchline submit` received it: its id (as text) and its input fields. */
export interface JobInput {
  requestId: string;
  fields: Readonly<Record<string, string>>;
}

/** Records the inputs of a submitted job (COPY), in the caller's transaction with the job row. */
export function recordJobInputs(
  client: pg.ClientBase,
  batchJobId: number,
  inputs: readonly JobInput[],
): Promise<number> {
  return copyRows(
    client,
    'batch_job_inputs',
    ['batch_job_id', 'request_id', 'fields'],
    inputs.map(({ requestId, fields }) => [batchJobId, requestId, JSON.stringify(fields)]),
  );
}

/** Whether job `batchJobId` has its inputs recorded (a submitted job; not an adopted batch nor a batcher job). */
export async function hasJobInputs(db: Queryable, batchJobId: number): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM batch_job_inputs WHERE batch_job_id = $1 LIMIT 1', [
    batchJobId,
  ]);
  return rows.length > 0;
}

/** The recorded inputs of `requestIds` in job `batchJobId` (those it has). */
export async function readJobInputs(
  db: Queryable,
  batchJobId: number,
  requestIds: readonly string[],
): Promise<JobInput[]> {
  const { rows } = await db.query<{ request_id: string; fields: Record<string, string> }>(
    `SELECT request_id, fields FROM batch_job_inputs
     WHERE batch_job_id = $1 AND request_id = ANY($2::text[]) ORDER BY request_id`,
    [batchJobId, requestIds],
  );
  return rows.map((row) => ({ requestId: row.request_id, fields: row.fields }));
}
