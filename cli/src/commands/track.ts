import { insertBatchLog } from '@batchline/db';
import { DEFAULT_JOB_TYPE } from '@batchline/job-types';
import { commandContext, jobTypeFor, providerFor, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import type { Command } from './command.ts';

export const trackCommand: Command = {
  name: 'track',
  usage: 'batchline track PROVIDER_BATCH_ID [--job-type NAME] [--provider openai|anthropic]',
  summary:
    'adopts a batch created elsewhere (its requests follow its job type, docs/job-types.md) and records a pending batch log',
  details: [
    `--job-type names the job type its requests were built by (batchline job-types lists them); default ${DEFAULT_JOB_TYPE}`,
    '(docs/interface.md §4).',
  ],
  options: { 'job-type': { type: 'string' }, provider: { type: 'string', default: 'openai' } },
  async run({ positionals, values }) {
    const [batchId, ...rest] = positionals;
    if (!batchId || rest.length > 0) throw new UsageError('track takes one provider batch id');
    const context = commandContext(true);
    const jobType = jobTypeFor(context, values['job-type'] as string | undefined, String(values.provider));
    const provider = providerFor(context, String(values.provider));
    const batch = await provider.getBatch(batchId).catch((error: unknown) => {
      throw new CommandError(`cannot retrieve batch ${batchId}: ${(error as Error).message}`);
    });
    const { id, created } = await withDatabase(context, (pool) =>
      insertBatchLog(pool, {
        provider: provider.name,
        batchId: batch.id,
        model: null,
        jobType: jobType.name,
        totalSentences: batch.requestCounts?.total ?? 0,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: 0,
      }),
    );
    console.log(created ? `batch log ${id}` : `batch log ${id} (already tracked)`);
  },
};
