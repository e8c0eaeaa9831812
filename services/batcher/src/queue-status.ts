import type { Pool } from '@batchline/db';
import type { BatchPolicy } from './batch-policy.ts';
import type { QueueGroupView } from './queue-view.ts';
import type { GroupStatus, WaitingFor } from './store/group-status.ts';
import { spentToday } from './store/planned-batches.ts';
import type { GroupKey } from './store/queue.ts';

/** What a tick's last plan of each group it planned said: why it waits, or null when its batch is being made. */
export type TickVerdicts = Map<string, WaitingFor | null>;

export const groupId = (group: GroupKey) => `${group.jobType}\n${group.provider}\n${group.model}`;

/** The start of the next UTC day: when a budget-stopped job type may spend again. */
const nextUtcDay = (now: Date) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));

/** What keeps any batch of the group from being made, whatever its size or age. */
function blockedBy(
  deps: { enabled: boolean; isDeclared(jobType: string): boolean },
  group: QueueGroupView,
): WaitingFor | null {
  if (group.paused) return 'paused';
  if (!deps.enabled) return 'disabled';
  return deps.isDeclared(group.jobType) ? null : 'undeclared_job_type';
}

/** A group the tick did not plan (enqueued meanwhile): waiting for its time, or due at the next tick. */
const dueVerdict = (group: QueueGroupView, now: Date): WaitingFor | null =>
  group.nextBatchDueAt !== null && group.nextBatchDueAt > now ? 'not_due' : null;

/**
 * The queue as the batcher leaves it at the end of a tick: each pending group, why it waits (its pause, batching
 * disabled, its job type undeclared, else the tick's verdict, else whether it is due), when its batch is due, and
 * its job type's budget and spending today.
 */
export async function queueStatus(
  deps: {
    pool: Pool;
    enabled: boolean;
    policyOf(jobType: string): BatchPolicy;
    isDeclared(jobType: string): boolean;
  },
  view: readonly QueueGroupView[],
  verdicts: TickVerdicts,
  now: Date,
): Promise<GroupStatus[]> {
  const spent = new Map<string, number>();
  const statuses: GroupStatus[] = [];
  for (const group of view) {
    const id = groupId(group);
    const policy = deps.policyOf(group.jobType);
    const blocked = blockedBy(deps, group);
    const verdict = verdicts.has(id) ? (verdicts.get(id) ?? null) : dueVerdict(group, now);
    const waitingFor = blocked ?? verdict;
    let nextBatchDueAt = blocked === null ? group.nextBatchDueAt : null;
    if (waitingFor === 'budget' && nextBatchDueAt !== null && nextBatchDueAt < nextUtcDay(now)) {
      nextBatchDueAt = nextUtcDay(now);
    }
    let budget: GroupStatus['budget'] = null;
    if (policy.dailyBudgetUsd !== null) {
      if (!spent.has(group.jobType)) spent.set(group.jobType, await spentToday(deps.pool, group.jobType));
      budget = { dailyUsd: policy.dailyBudgetUsd, spentTodayUsd: spent.get(group.jobType)! };
    }
    statuses.push({ ...group, nextBatchDueAt, waitingFor, budget });
  }
  return statuses;
}
