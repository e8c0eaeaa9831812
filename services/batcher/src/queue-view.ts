import type { Pool } from '@batchline/db';
import { type BatchPolicy, nextBatchDue } from './batch-policy.ts';
import { type BatcherControl, readControls } from './store/controls.ts';
import { listPendingGroups, type PendingGroupRow } from './store/queue.ts';

/** One group of the queue as operators see it (`batchline batcher status`, `batcher_group_status`). */
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

/** The pending groups with their job type's pause and when their batch is due. */
export function queueView(
  groups: readonly PendingGroupRow[],
  controls: ReadonlyMap<string, BatcherControl>,
  policyOf: (jobType: string) => BatchPolicy,
  now: Date,
): QueueGroupView[] {
  return groups.map((group) => {
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

/** The queue per job type, provider and model: pending requests, the oldest's age, and when its batch is due. */
export async function readQueueView(
  pool: Pool,
  policyOf: (jobType: string) => BatchPolicy,
  now = new Date(),
): Promise<QueueGroupView[]> {
  return queueView(await listPendingGroups(pool), await readControls(pool), policyOf, now);
}
