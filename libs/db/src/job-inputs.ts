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

/**
 * What batchline kept of job `batchJobId`'s requests: `inputs` for a submitted job (batch_job_inputs), `lines` for a
 * batcher job (the built lines in batcher_requests), `requeued` for a batcher job whose batch the provider refused
 * after creating it (its requests went back to the batcher's queue: resending them would double them), null for an
 * adopted batch (or a job from before either was kept).
 */
export async function keptRequestsOf(
  db: Queryable,
  batchJobId: number,
): Promise<'inputs' | 'lines' | 'requeued' | null> {
  const { rows } = await db.query<{ inputs: boolean; lines: boolean; requeued: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM batch_job_inputs WHERE batch_job_id = $1) AS inputs,
            EXISTS (SELECT 1 FROM batcher_batches WHERE batch_job_id = $1 AND state = 'recorded') AS lines,
            EXISTS (SELECT 1 FROM batcher_batches WHERE batch_job_id = $1 AND state = 'refused') AS requeued`,
    [batchJobId],
  );
  if (rows[0]!.inputs) return 'inputs';
  if (rows[0]!.lines) return 'lines';
  return rows[0]!.requeued ? 'requeued' : null;
}

/** The request lines the batcher built for `requestIds` of its job `batchJobId`, as it sent them. */
export async function readBatchedLines(
  db: Queryable,
  batchJobId: number,
  requestIds: readonly string[],
): Promise<string[]> {
  const { rows } = await db.query<{ line: string }>(
    `SELECT r.line FROM batcher_requests r JOIN batcher_batches b ON b.id = r.planned_batch_id
     WHERE b.batch_job_id = $1 AND b.state = 'recorded' AND r.request_id = ANY($2::text[]) ORDER BY r.id`,
    [batchJobId, requestIds],
  );
  return rows.map((row) => row.line);
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
