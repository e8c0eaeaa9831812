import { insertBatchLog } from '@batchline/db';
import { commandContext, providerFor, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import type { Command } from './command.ts';

export const trackCommand: Command = {
  name: 'track',
  usage: 'batchline track PROVIDER_BATCH_ID [--provider openai|anthropic]',
  summary:
    'adopts a batch created elsewhere (its requests follow docs/interface.md §4) and records a pending batch log',
  options: { provider: { type: 'string', default: 'openai' } },
  async run({ positionals, values }) {
    const [batchId, ...rest] = positionals;
    if (!batchId || rest.length > 0) throw new UsageError('track takes one provider batch id');
    const context = commandContext(true);
    const provider = providerFor(context, String(values.provider));
    const batch = await provider.getBatch(batchId).catch((error: unknown) => {
      throw new CommandError(`cannot retrieve batch ${batchId}: ${(error as Error).message}`);
    });
    const { id, created } = await withDatabase(context, (pool) =>
      insertBatchLog(pool, {
        provider: provider.name,
        batchId: batch.id,
        model: null,
        totalSentences: batch.requestCounts?.total ?? 0,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: 0,
      }),
    );
    console.log(created ? `batch log ${id}` : `batch log ${id} (already tracked)`);
  },
};
