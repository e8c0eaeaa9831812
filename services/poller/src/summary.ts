import { enqueueOutbox, type Pool, readBatchProgress } from '@batchline/db';
import { Subjects, validateEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import {
  countBatchesAwaitingProvider,
  oldestAwaitingProvider,
  sumPollerCycles,
} from './store/poll-cycles.ts';

/** How many of the batches still processing the summary names, oldest first. */
const STILL_PROCESSING_LISTED = 5;

/** The oldest batches still waiting for the provider, with their progress and estimated completion. */
async function stillProcessing(pool: Pool) {
  const oldest = await oldestAwaitingProvider(pool, STILL_PROCESSING_LISTED);
  const progress = await readBatchProgress(
    pool,
    oldest.map((batch) => batch.id),
  );
  return oldest.map((batch) => {
    const known = progress.get(batch.id);
    return {
      batchLogId: batch.id,
      batchId: batch.batchId,
      jobType: batch.jobType,
      done: known?.done ?? null,
      total: known?.total ?? null,
      estimatedCompletionAt: known?.estimate ? new Date(known.estimate.at).toISOString() : null,
      estimateBasis: known?.estimate?.basis ?? null,
    };
  });
}

/**
 * Publishes, every `intervalMs`, what this poller did over the period (`ops.poller.summary`, through the outbox
 * so that it is published once even if the bus is away), from the cycle figures it recorded.
 */
export function startPeriodicSummary(options: {
  pool: Pool;
  log: Logger;
  owner: string;
  intervalMs: number;
  onEnqueued(): void;
}): { stop(): Promise<void> } {
  let periodStart = new Date();
  let running: Promise<void> | undefined;
  const publish = async () => {
    const periodEnd = new Date();
    const totals = await sumPollerCycles(options.pool, { since: periodStart, owner: options.owner });
    const payload = validateEvent(Subjects.pollerSummary, {
      poller: options.owner,
      periodStart: periodStart.toISOString(),
      periodEnd: periodEnd.toISOString(),
      batchesChecked: totals.checked + totals.failed,
      checksFailed: totals.failed,
      transitions: totals.transitions,
      batchesCompleted: totals.completed,
      batchesFailed: totals.terminal - totals.completed,
      pendingBatches: await countBatchesAwaitingProvider(options.pool),
      stillProcessing: await stillProcessing(options.pool),
    });
    await enqueueOutbox(options.pool, {
      subject: Subjects.pollerSummary,
      msgId: `poller-summary:${options.owner}:${periodEnd.toISOString()}`,
      payload,
    });
    periodStart = periodEnd;
    options.onEnqueued();
  };
  const timer = setInterval(() => {
    if (running) return;
    running = publish()
      .catch((error: unknown) => options.log.warn({ err: error }, 'poller summary not published'))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
