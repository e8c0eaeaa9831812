import { enqueueOutbox, type Queryable } from '@batchline/db';
import { opsErrorEvent } from '@batchline/events';
import type { PlannedBatch } from './store/planned-batches.ts';

/** Announces (through the outbox, in the caller's transaction) that the provider refused a planned batch. */
export async function announceRefusal(
  db: Queryable,
  service: string,
  batch: PlannedBatch,
  reason: string,
): Promise<void> {
  await enqueueOutbox(
    db,
    opsErrorEvent({
      service,
      kind: 'batch_refused',
      severity: 'medium',
      message: `${batch.provider} refused a batch of ${batch.requestCount} ${batch.jobType} requests (${batch.model}); they are queued again`,
      provider: batch.provider === 'anthropic' ? 'anthropic' : 'openai',
      detail: reason,
      occurrenceKey: batch.idempotencyKey,
    }),
  );
}

/** Announces once a UTC day per job type that its budget stops its batches. */
export async function announceBudgetReached(
  db: Queryable,
  service: string,
  jobType: string,
  budget: { dailyBudgetUsd: number; spentUsd: number; nextBatchUsd: number },
  now: Date,
): Promise<void> {
  await enqueueOutbox(
    db,
    opsErrorEvent(
      {
        service,
        kind: 'budget_exceeded',
        severity: 'medium',
        message: `${jobType}: the next batch (~$${budget.nextBatchUsd.toFixed(2)}) would pass the daily budget of $${budget.dailyBudgetUsd.toFixed(2)} ($${budget.spentUsd.toFixed(2)} spent today); no more batches until tomorrow (UTC)`,
        provider: null,
        occurrenceKey: `${jobType}:${now.toISOString().slice(0, 10)}`,
      },
      now,
    ),
  );
}
