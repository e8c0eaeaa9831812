import { type Pool, withTransaction } from '@batchline/db';
import type { StatusChangedEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { announceRefusal } from './announcements.ts';
import { lockBatchOfLog, markRefused } from './store/planned-batches.ts';
import { requeueRequests } from './store/queue.ts';

/** OpenAI's error of a batch that passed the organization's enqueued-token limit for its model. */
export const TOKEN_LIMIT_EXCEEDED = 'token_limit_exceeded';

/** The limit OpenAI's message states ("… Limit: 90,000 enqueued tokens. …"), or null when it states none. */
export function statedTokenLimit(message: string | null): number | null {
  const match = /Limit:\s*([\d,]+)\s+enqueued tokens/i.exec(message ?? '');
  const limit = match ? Number(match[1]!.replaceAll(',', '')) : Number.NaN;
  return Number.isSafeInteger(limit) && limit > 0 ? limit : null;
}

export interface RefusalDeps {
  pool: Pool;
  log: Logger;
  service: string;
}

/**
 * The `batcher-refusals` consumer's handler of `batch.status.changed`: a batch the batcher recorded that failed
 * with `token_limit_exceeded` is settled refused (with the limit the provider stated), its requests go back to the
 * queue and the refusal is announced, in one transaction under the row's lock; the bus acks after the commit. A
 * redelivered event finds the row refused and changes nothing; batches the batcher did not make are not its own.
 * The failed batch itself ends through the pipeline like any failed batch (its requests as `missing_result`).
 */
export function refusalHandler(deps: RefusalDeps) {
  return async (event: StatusChangedEvent): Promise<void> => {
    if (!event.terminal) return;
    const error = event.providerErrors.find((entry) => entry.code === TOKEN_LIMIT_EXCEEDED);
    if (error === undefined) return;
    const reason = error.message ?? TOKEN_LIMIT_EXCEEDED;
    const settled = await withTransaction(deps.pool, async (client) => {
      const batch = await lockBatchOfLog(client, event.batchLogId);
      if (batch === null || batch.state !== 'recorded') return null;
      const requeued = await requeueRequests(client, batch.id);
      await markRefused(client, batch.id, {
        reason,
        code: TOKEN_LIMIT_EXCEEDED,
        providerTokenLimit: statedTokenLimit(error.message),
      });
      await announceRefusal(client, deps.service, batch, reason, {
        batchLogId: event.batchLogId,
        providerBatchId: event.providerBatchId,
      });
      return { batch, requeued };
    });
    if (settled === null) return;
    deps.log.warn(
      {
        plannedBatch: settled.batch.id,
        batchLogId: event.batchLogId,
        providerBatchId: event.providerBatchId,
        requeued: settled.requeued,
        reason,
      },
      'batch failed for the enqueued-token limit; its requests are queued again',
    );
  };
}
