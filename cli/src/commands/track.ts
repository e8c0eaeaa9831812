import { defaultRetryPolicy } from '@batchline/config';
import { insertBatchJob, insertBatchLog, withTransaction } from '@batchline/db';
import { DEFAULT_JOB_TYPE } from '@batchline/job-types';
import { commandContext, jobTypeFor, providerFor, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import { newBatchJob } from '../submission.ts';
import type { Command } from './command.ts';

export const trackCommand: Command = {
  name: 'track',
  usage: 'batchline track PROVIDER_BATCH_ID [--job-type NAME] [--provider openai|anthropic]',
  summary:
    'adopts a batch created elsewhere (its requests follow its job type, docs/job-types.md) and records a pending batch log',
  details: [
    `--job-type names the job type its requests were built by (batchline job-types lists them); default ${DEFAULT_JOB_TYPE}`,
    '(docs/interface.md §4). The batch becomes a batch job of one part (origin track), whose id is printed on a',
    'second line "batch job ID"; a batch already tracked keeps its job.',
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
    const totalRequests = batch.requestCounts?.total ?? 0;
    const tracked = await withDatabase(context, (pool) =>
      withTransaction(pool, async (client) => {
        const batchJobId = await insertBatchJob(
          client,
          newBatchJob({
            jobType,
            provider,
            model: null,
            origin: 'track',
            totalRequests,
            defaultRetryPolicy: defaultRetryPolicy(context.config),
          }),
        );
        const logged = await insertBatchLog(client, {
          provider: provider.name,
          batchId: batch.id,
          model: null,
          jobType: jobType.name,
          totalSentences: totalRequests,
          inputFileId: batch.inputFileId,
          firstPollDelayMs: 0,
          job: { batchJobId, partIndex: 0, parentBatchLogId: null, retryRound: 0 },
        });
        // Adopting a batch twice must not leave a second, empty job behind.
        if (!logged.created) throw new AlreadyTracked(logged.id);
        return { id: logged.id, batchJobId };
      }).catch((error: unknown) => {
        if (error instanceof AlreadyTracked) return { id: error.batchLogId, batchJobId: null };
        throw error;
      }),
    );
    if (tracked.batchJobId === null) {
      console.log(`batch log ${tracked.id} (already tracked)`);
    } else {
      console.log(`batch log ${tracked.id}`);
      console.log(`batch job ${tracked.batchJobId}`);
    }
  },
};

/** Rolls the adoption's transaction back when the batch was already recorded. */
class AlreadyTracked extends Error {
  constructor(readonly batchLogId: number) {
    super(`batch log ${batchLogId} is already tracked`);
  }
}
