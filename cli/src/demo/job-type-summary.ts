import { getBatchLog, type Pool } from '@batchline/db';
import type { JobType } from '@batchline/job-types';

/** What landed of one job type's batches in the demo. */
export interface JobTypeSummary {
  jobType: string;
  batches: number;
  requests: number;
  rowsLanded: number;
  /** Failed requests by error code (`log_details.errorCodes` of each batch, added up). */
  failedByCode: Record<string, number>;
  /** From the first batch's submission to the last one's results landing. */
  seconds: number;
}

/** Reads back each job type's batches and counts the rows of its target table that they landed. */
export async function summariseJobType(
  pool: Pool,
  jobType: JobType,
  batchLogIds: readonly number[],
): Promise<JobTypeSummary> {
  const failedByCode: Record<string, number> = {};
  let requests = 0;
  let firstCreated = Number.POSITIVE_INFINITY;
  let lastLanded = 0;
  for (const id of batchLogIds) {
    const row = (await getBatchLog(pool, id))!;
    requests += row.totalSentences;
    firstCreated = Math.min(firstCreated, row.createdAt.getTime());
    lastLanded = Math.max(lastLanded, (row.resultsLandedAt ?? new Date()).getTime());
    const codes = (row.logDetails?.errorCodes ?? {}) as Record<string, number>;
    for (const [code, count] of Object.entries(codes)) failedByCode[code] = (failedByCode[code] ?? 0) + count;
  }
  // The table name is the declaration's, quoted by the job type library.
  const { rows } = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${jobType.target.quoted} WHERE batch_log_id = ANY($1::bigint[])`,
    [batchLogIds],
  );
  return {
    jobType: jobType.name,
    batches: batchLogIds.length,
    requests,
    rowsLanded: Number(rows[0]?.n ?? 0),
    failedByCode,
    seconds: batchLogIds.length === 0 ? 0 : (lastLanded - firstCreated) / 1000,
  };
}

/** `unknown_viewpoint 20, invalid_content 21`, most frequent first; `none` when nothing failed. */
export function formatFailedByCode(failedByCode: Readonly<Record<string, number>>): string {
  const entries = Object.entries(failedByCode).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  return entries.length === 0 ? 'none' : entries.map(([code, count]) => `${code} ${count}`).join(', ');
}

/** The row of the demo's summary table for one job type. */
export const summaryRow = (summary: JobTypeSummary): unknown[] => [
  summary.jobType,
  summary.batches,
  summary.requests,
  summary.rowsLanded,
  formatFailedByCode(summary.failedByCode),
  summary.seconds.toFixed(1),
];

export const SUMMARY_HEADERS = [
  'job type',
  'batches',
  'requests',
  'rows landed',
  'failed requests',
  'seconds',
];
