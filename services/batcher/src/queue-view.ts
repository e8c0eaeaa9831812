import type { Pool } from '@batchline/db';
import { type BatchPolicy, nextBatchDue } from './batch-policy.ts';
import { readControls } from './store/controls.ts';
import { listPendingGroups } from './store/queue.ts';

/** One group of the queue as operators see it (`batchline batcher status`). */
export interface QueueGroupView {
  jobType: string;
  provider: string;
  model: string;
  pending: number;
  oldestEnqueuedAt: Date;
  paused: boolean;
  /** Null while paused. */
  nextBatchDueAt: Date | null;
}

/** The queue per job type, provider and model: pending requests, the oldest's age, and when its batch is due. */
export async function readQueueView(
  pool: Pool,
  policyOf: (jobType: string) => BatchPolicy,
  now = new Date(),
): Promise<QueueGroupView[]> {
  const controls = await readControls(pool);
  return (await listPendingGroups(pool)).map((group) => {
    const control = controls.get(group.jobType);
    const paused = control?.paused ?? false;
    return {
      ...group,
      paused,
      nextBatchDueAt: paused
        ? null
        : nextBatchDue(group, policyOf(group.jobType), now, control?.flushRequestedAt ?? null),
    };
  });
}
