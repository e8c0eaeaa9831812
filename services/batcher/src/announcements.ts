import { enqueueOutbox, type Queryable } from '@batchline/db';
import { opsErrorEvent } from '@batchline/events';
import type { PlannedBatch } from './store/planned-batches.ts';

/** A refusal after the provider created the batch: the batch it failed. */
export interface RefusedAfterCreation {
  batchLogId: number;
  providerBatchId: string;
}

/**
 * Announces (through the outbox, in the caller's transaction) that the provider refused a planned batch and its
 * requests are queued again. A refusal of the upload or create call is one occurrence per batch; a batch failed
 * after creation (`token_limit_exceeded`) is announced once an hour per model, since a full provider refuses
 * batch after batch until room is back and each would be one more Slack message.
 */
export async function announceRefusal(
  db: Queryable,
  service: string,
  batch: PlannedBatch,
  reason: string,
  failed: RefusedAfterCreation | null = null,
  now = new Date(),
): Promise<void> {
  const refused = `${batch.provider} refused a batch of ${batch.requestCount} ${batch.jobType} requests (${batch.model})`;
  await enqueueOutbox(
    db,
    opsErrorEvent(
      {
        service,
        kind: 'batch_refused',
        severity: 'medium',
        message:
          failed === null
            ? `${refused}; they are queued again`
            : `${refused} after creating it; they are queued again, and the model's next batches wait for one of its batches in flight to end`,
        provider: batch.provider === 'anthropic' ? 'anthropic' : 'openai',
        batchLogId: failed?.batchLogId ?? null,
        providerBatchId: failed?.providerBatchId ?? null,
        detail: reason,
        nextStep:
          failed === null
            ? null
            : "Set BATCHER_MAX_ENQUEUED_TOKENS at or below the provider's enqueued-token limit for the model.",
        occurrenceKey:
          failed === null ? batch.idempotencyKey : `${batch.model}:${now.toISOString().slice(0, 13)}`,
      },
      now,
    ),
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
