import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ensureTargetTables, type Pool } from '@batchline/db';
import type { SucceededOutcome } from '@batchline/emulator';
import { DEFAULT_JOB_TYPE, type JobType, type JobTypeSet, loadJobTypes } from '@batchline/job-types';

/**
 * The job types of `--job-type`: the built-in specific_viewpoint and the shipped examples (examples/job-types/),
 * loaded from their files as a user's would be. A job type's run lands the same number of lines as the viewpoint
 * run, through the same services, so that the two times compare.
 */
const EXAMPLES = fileURLToPath(new URL('../../examples/job-types/', import.meta.url));

/** Compared with specific_viewpoint unless `--job-type` says otherwise (`none`: no comparison). */
export const DEFAULT_COMPARED_JOB_TYPE = 'review_sentiment';

export interface BenchJobTypes {
  set: JobTypeSet;
  /** BATCHLINE_JOB_TYPES for the services (the examples folder). */
  setting: string;
}

export const benchJobTypes = (): BenchJobTypes => ({ set: loadJobTypes(EXAMPLES), setting: EXAMPLES });

/**
 * Creates the job types' target tables and seeds each example catalogue from the SQL file shipped beside the
 * declarations (`<catalogue table>.sql`, e.g. sentiment_labels.sql).
 */
export async function prepareJobTypeTables(pool: Pool, jobTypes: JobTypeSet): Promise<void> {
  await ensureTargetTables(pool, jobTypes.all());
  for (const jobType of jobTypes.all()) {
    const catalogue = jobType.declaration.catalogue;
    if (jobType.name === DEFAULT_JOB_TYPE || !catalogue) continue;
    const seed = `${EXAMPLES}${catalogue.table}.sql`;
    if (!existsSync(seed)) throw new Error(`job type ${jobType.name}: no ${seed} to seed its catalogue`);
    await pool.query(await readFile(seed, 'utf8'));
  }
}

/** The request id of the bench's n-th line for `jobType`: the integer itself, or its text for string ids. */
export function benchRequestId(jobType: JobType, id: number): number | string {
  const requestId = jobType.parseInputId(id) ?? jobType.parseInputId(String(id));
  if (requestId === null)
    throw new Error(`job type ${jobType.name} takes neither ${id} nor "${id}" as an id`);
  return requestId;
}

/** The rows one succeeded request lands: its viewpoints (each once) for specific_viewpoint, else the oracle's rows. */
export const landedRowCount = (outcome: SucceededOutcome): number =>
  outcome.jobType === DEFAULT_JOB_TYPE ? outcome.viewpointIds.length : outcome.rows.length;

/** The rows of `jobType`'s target table and the outcomes recorded, after a run. */
export async function landedRows(
  pool: Pool,
  jobType: JobType,
): Promise<{ results: number; associations: number }> {
  const { rows } = await pool.query<{ results: number; associations: number }>(
    `SELECT (SELECT count(*) FROM batch_request_results)::int AS results,
            (SELECT count(*) FROM ${jobType.target.quoted})::int AS associations`,
  );
  return rows[0]!;
}

export interface JobTypeComparison {
  jobType: string;
  lines: number;
  /** Rows landed in each run: viewpoint associations, the other job type's rows. */
  viewpointRows: number;
  rows: number;
  /** Seconds of every round, interleaved with the viewpoint runs of the same rounds. */
  viewpointRounds: number[];
  rounds: number[];
}

const medianOf = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

/** The comparison as a few lines: both medians, every round, and the ratio against the goal of issue 14. */
export function formatComparison(c: JobTypeComparison): string {
  const viewpoint = medianOf(c.viewpointRounds);
  const other = medianOf(c.rounds);
  const ratio = other / viewpoint;
  const rounds = (list: readonly number[]) => list.map((s) => s.toFixed(2)).join(', ');
  return [
    `job types on the same ${c.lines.toLocaleString('en-US')} lines (median of ${c.rounds.length}):`,
    `  specific_viewpoint  ${viewpoint.toFixed(2)} s  ${c.viewpointRows.toLocaleString('en-US')} rows  rounds ${rounds(c.viewpointRounds)}`,
    `  ${c.jobType.padEnd(18)}  ${other.toFixed(2)} s  ${c.rows.toLocaleString('en-US')} rows  rounds ${rounds(c.rounds)}`,
    `  ratio ${c.jobType}/specific_viewpoint ${ratio.toFixed(3)} (goal ≤ 1.10: ${ratio <= 1.1 ? 'met' : 'NOT met'})`,
  ].join('\n');
}
