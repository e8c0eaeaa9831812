import { type Pool, type Queryable, withTransaction } from '@batchline/db';
import type { BatchFinalizedEvent, JobFinalizedEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { finalizeJobIfDone, type LockedJob, lockJob } from '../store/job-finalization.ts';
import { decideRetryRound, jobPlaceOf, type RoundDecision } from '../store/retry-rounds.ts';

/** What one final batch led to. */
export interface FinalBatchOutcome {
  decision: RoundDecision;
  finalized: JobFinalizedEvent | null;
}

/**
 * Runs `step` under the lock of job `batchJobId`'s row, then finalizes the job if it is done — in one transaction,
 * so the decisions of a job's batches (on any replica) happen one at a time and the job is finalized once.
 */
export async function underJobLock<T>(
  pool: Pool,
  batchJobId: number,
  step: (client: Queryable, job: LockedJob) => Promise<T>,
): Promise<{ result: T; finalized: JobFinalizedEvent | null } | null> {
  return withTransaction(pool, async (client) => {
    const job = await lockJob(client, batchJobId);
    if (!job) return null;
    const result = await step(client, job);
    return { result, finalized: await finalizeJobIfDone(client, job) };
  });
}

/**
 * The retrier's handler of `batch.finalized` (durable consumer `monitor-retrier`): for a batch of a job, records
 * whether a retry round of its failures is due, and finalizes the job when nothing is left pending or planned — in
 * one transaction, committed before the ack. A redelivered event finds its decision made and changes nothing.
 */
export function createRoundDecider(options: { pool: Pool; log: Logger; decided: () => void }) {
  const { pool, log } = options;
  return async function batchFinalized(event: BatchFinalizedEvent): Promise<FinalBatchOutcome | null> {
    const place = await jobPlaceOf(pool, event.batchLogId);
    if (place === null) return null;
    const done = await underJobLock(pool, place.batchJobId, (client, job) =>
      decideRetryRound(client, place, job.retryPolicy),
    );
    if (done === null) return null;
    const { result: decision, finalized } = done;
    if (decision.state !== 'decided_before') {
      log.info(
        { batchLogId: event.batchLogId, batchJobId: place.batchJobId, decision },
        'retry round decided',
      );
    }
    if (finalized) log.info({ batchJobId: place.batchJobId, outcome: finalized.outcome }, 'job finalized');
    options.decided();
    return { decision, finalized };
  };
}
