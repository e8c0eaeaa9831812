import { type BatchProgress, getBatchLog, listBatchLogs, readBatchProgress } from '@batchline/db';
import { batchStatusName } from '@batchline/domain';
import { commandContext, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';

/** A pending batch's estimate and what it rests on; empty for final batches, `unknown` without one. */
function estimateText(progress: BatchProgress | undefined): string {
  if (!progress) return '';
  if (!progress.estimate) return 'unknown';
  return `${new Date(progress.estimate.at).toISOString()} (${progress.estimate.basis})`;
}

export const statusCommand: Command = {
  name: 'status',
  usage: 'batchline status [BATCH_LOG_ID] [--limit N] [--job-type NAME]',
  summary: 'a table of batch logs, or one batch log in detail',
  details: [
    "Pending batches show their estimated completion: from the provider's request counts since it started, else from the durations of their job type's recent completed batches (unknown when neither tells).",
    '--job-type NAME lists only the batch logs of that job type (batch_jobs_vp_logs.job_type).',
  ],
  options: { limit: { type: 'string', default: '50' }, 'job-type': { type: 'string' } },
  async run({ positionals, values }) {
    if (positionals.length > 1) throw new UsageError('status takes at most one batch log id');
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new UsageError('--limit must be between 1 and 1000');
    const jobType = typeof values['job-type'] === 'string' ? values['job-type'].trim() : null;
    if (jobType === '') throw new UsageError('--job-type takes the name of a job type');
    const id = positionals[0] === undefined ? null : Number(positionals[0]);
    if (id !== null && (!Number.isSafeInteger(id) || id <= 0))
      throw new UsageError(`not a batch log id: ${positionals[0]}`);
    if (id !== null && jobType !== null)
      throw new UsageError('--job-type filters the table; it does not apply to one batch log');
    const context = commandContext(true);
    await withDatabase(context, async (pool) => {
      if (id === null) {
        const rows = await listBatchLogs(pool, { limit, jobType });
        // Nothing of that job type may mean a misspelt name: say so, rather than print a bare header.
        if (rows.length === 0 && jobType !== null) {
          console.error(`no batch logs of job type ${jobType}`);
          return;
        }
        const progress = await readBatchProgress(
          pool,
          rows.map((row) => row.id),
        );
        console.log(
          formatTable(
            [
              'batch log',
              'job type',
              'provider',
              'provider batch',
              'status',
              'provider status',
              'total',
              'processed',
              'failed',
              'created',
              'estimated completion',
            ],
            rows.map((row) => [
              row.id,
              row.jobType,
              row.provider,
              row.batchId,
              batchStatusName(row.status),
              row.providerStatus ?? '',
              row.totalSentences,
              row.processedSentences,
              row.failedSentences,
              row.createdAt.toISOString(),
              estimateText(progress.get(row.id)),
            ]),
          ),
        );
        return;
      }
      const row = await getBatchLog(pool, id);
      if (!row) throw new CommandError(`batch log ${id} does not exist`);
      const estimate = (await readBatchProgress(pool, [id])).get(id)?.estimate ?? null;
      console.log(
        JSON.stringify(
          {
            ...row,
            statusName: batchStatusName(row.status),
            estimatedCompletionAt: estimate ? new Date(estimate.at).toISOString() : null,
            estimateBasis: estimate?.basis ?? null,
          },
          null,
          2,
        ),
      );
    });
  },
};
