import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool } from '@batchline/db';
import { DEFAULT_JOB_TYPE, type JobType, type JobTypeSet, loadJobTypes } from '@batchline/job-types';
import type { Rng } from './rng.ts';

/**
 * The second job type of a run, besides the built-in specific_viewpoint: the shipped review_sentiment example,
 * declared in its file as a user would (examples/job-types/), with its catalogue seeded from the example's SQL.
 */
export const SECOND_JOB_TYPE = 'review_sentiment';
export const SECOND_JOB_TYPE_DECLARATION = fileURLToPath(
  new URL('../../examples/job-types/review_sentiment.yaml', import.meta.url),
);
const SECOND_JOB_TYPE_CATALOGUE = fileURLToPath(
  new URL('../../examples/job-types/sentiment_labels.sql', import.meta.url),
);

/** The job types in force for the services, the emulator and the harness. */
export const chaosJobTypes = (): JobTypeSet => loadJobTypes(SECOND_JOB_TYPE_DECLARATION);

/** Shares of review_sentiment answers the emulator spoils by itself (beside the workload's scripted line faults). */
export const SECOND_JOB_TYPE_ANSWER_SHARES = { invalid: 0.04, unknownReference: 0.04 };

/** Fills the second job type's catalogue (the example's own SQL: the table and its labels). */
export async function seedSecondCatalogue(pool: Pool): Promise<void> {
  await pool.query(await readFile(SECOND_JOB_TYPE_CATALOGUE, 'utf8'));
}

/** Review texts using words of the sentiment labels' descriptions, so the emulator's answers vary. */
const SENTIMENT_PHRASES = [
  'I am pleased with it and would give a recommendation',
  'nothing but complaints and disappointment, a warning to others',
  'just the facts: it has a plain description and no surprises',
  'pleased with some things and displeased with others',
  'what a disappointment',
  'a question about the manual',
];

export function reviewText(rng: Rng): string {
  const phrase = rng.pick(SENTIMENT_PHRASES);
  return `${phrase.charAt(0).toUpperCase()}${phrase.slice(1)}.`;
}

/** Is this the built-in job type (whose rows the association checks cover) or the run's second one? */
export const isDefaultJobType = (jobType: JobType | string): boolean =>
  (typeof jobType === 'string' ? jobType : jobType.name) === DEFAULT_JOB_TYPE;

/**
 * The rows of `jobType`'s target table by batch log, each as `<request id>|<value columns as JSON>` — the form the
 * oracle's `rows` take — so both can be compared as sets. Identifiers come quoted from the job type library.
 */
export async function landedRowsByBatch(pool: Pool, jobType: JobType): Promise<Map<number, string[]>> {
  const { target } = jobType;
  const columns = [...target.idColumns, ...target.valueColumns].map((column) => column.quoted);
  const { rows } = await pool.query<{ batch_log_id: string; [column: string]: unknown }>(
    `SELECT batch_log_id, ${columns.join(', ')} FROM ${target.quoted}`,
  );
  const byBatch = new Map<number, string[]>();
  for (const row of rows) {
    const id = target.idColumns.map((column) => String(row[column.name])).join(',');
    const values = target.valueColumns.map((column) => row[column.name]);
    const list = byBatch.get(Number(row.batch_log_id)) ?? [];
    list.push(landedRowKey(id, values));
    byBatch.set(Number(row.batch_log_id), list);
  }
  return byBatch;
}

export const landedRowKey = (requestId: string | number, values: readonly unknown[]): string =>
  `${requestId}|${JSON.stringify(values)}`;
