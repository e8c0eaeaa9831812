import { getBatchLog, listBatchLogs } from '@batchline/db';
import { batchStatusName } from '@batchline/domain';
import { commandContext, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';

export const statusCommand: Command = {
  name: 'status',
  usage: 'batchline status [BATCH_LOG_ID] [--limit N]',
  summary: 'a table of batch logs, or one batch log in detail',
  options: { limit: { type: 'string', default: '50' } },
  async run({ positionals, values }) {
    if (positionals.length > 1) throw new UsageError('status takes at most one batch log id');
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new UsageError('--limit must be between 1 and 1000');
    const id = positionals[0] === undefined ? null : Number(positionals[0]);
    if (id !== null && (!Number.isSafeInteger(id) || id <= 0))
      throw new UsageError(`not a batch log id: ${positionals[0]}`);
    const context = commandContext(true);
    await withDatabase(context, async (pool) => {
      if (id === null) {
        const rows = await listBatchLogs(pool, { limit });
        console.log(
          formatTable(
            [
              'batch log',
              'provider',
              'provider batch',
              'status',
              'provider status',
              'total',
              'processed',
              'failed',
              'created',
            ],
            rows.map((row) => [
              row.id,
              row.provider,
              row.batchId,
              batchStatusName(row.status),
              row.providerStatus ?? '',
              row.totalSentences,
              row.processedSentences,
              row.failedSentences,
              row.createdAt.toISOString(),
            ]),
          ),
        );
        return;
      }
      const row = await getBatchLog(pool, id);
      if (!row) throw new CommandError(`batch log ${id} does not exist`);
      console.log(JSON.stringify({ ...row, statusName: batchStatusName(row.status) }, null, 2));
    });
  },
};
