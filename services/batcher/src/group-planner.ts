import { type Pricing, priceOf, tokenCost } from '@batchline/config';
import { type Pool, withTransaction } from '@batchline/db';
import type { JobType } from '@batchline/job-types';
import type { BatchProvider } from '@batchline/providers';
import { announceBudgetReached } from './announcements.ts';
import { type BatchPolicy, type BatchTrigger, dueTrigger, requestsThatFit } from './batch-policy.ts';
import {
  enqueuedTokens,
  insertPlannedBatch,
  type PlannedBatch,
  spentToday,
  tokenLimitHold,
} from './store/planned-batches.ts';
import { assignRequests, type GroupKey, lockPendingRequests, pendingGroupOf } from './store/queue.ts';

/** Completion tokens assumed per request when the job type declares no ceiling (Anthropic's default). */
const DEFAULT_COMPLETION_TOKENS = 1024;
/** How long a limit the provider stated in a refusal caps the model's ceiling (a raised tier is found after it). */
const STATED_LIMIT_MEMORY_MS = 24 * 3_600_000;

export interface PlannerDeps {
  pool: Pool;
  provider: BatchProvider;
  pricing: Pricing;
  maxEnqueuedTokens: number;
  /** After a `token_limit_exceeded` refusal with no batch of the model in flight, how long its next batch waits. */
  refusalBackoffMs: number;
  instanceId: string;
  service: string;
  leaseMs: number;
}

/** The estimated batch price of requests: their prompt tokens and the job type's answer ceiling each. */
export function estimatedCostUsd(
  pricing: Pricing,
  jobType: JobType,
  group: GroupKey,
  requests: { count: number; promptTokens: number },
): number | null {
  const priced = priceOf(pricing.prices, group.model);
  if (priced === null) return null;
  const { request } = jobType.declaration;
  const ceiling = 'maxTokens' in request ? (request.maxTokens ?? DEFAULT_COMPLETION_TOKENS) : 0;
  const discount = pricing.batchDiscountPercent[group.provider as keyof Pricing['batchDiscountPercent']] ?? 0;
  return tokenCost(
    priced.price,
    { promptTokens: requests.promptTokens, completionTokens: requests.count * ceiling },
    discount,
  ).batchUsd;
}

export type PlanOutcome =
  | { planned: PlannedBatch; trigger: BatchTrigger }
  /** Not due, planned by another replica meanwhile, or waiting for room under the enqueued-token limit. */
  | { planned: null; why: 'not_due' | 'busy' | 'token_limit' | 'budget' };

/** An advisory lock key per group: one replica plans a group at a time, the others skip it. */
const groupLockKey = (group: GroupKey) => `batcher:${group.jobType}:${group.provider}:${group.model}`;

/**
 * Plans the group's next batch if it is due: claims the requests that fit (provider limits, BATCH_MAX_REQUESTS,
 * room under the model's enqueued-token ceiling, capped to the limit a recent refusal stated; none while a refusal
 * holds the model back) into a planned batch leased to this batcher, its estimated cost
 * recorded, unless the job type's daily budget would be passed (then says so once a day). One transaction: the
 * intent is in Postgres before anything is uploaded.
 */
export function planGroupBatch(
  deps: PlannerDeps,
  jobType: JobType,
  group: GroupKey,
  policy: BatchPolicy,
  flushRequestedAt: Date | null,
  now: Date,
): Promise<PlanOutcome> {
  return withTransaction(deps.pool, async (client): Promise<PlanOutcome> => {
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
      [groupLockKey(group)],
    );
    if (!rows[0]?.locked) return { planned: null, why: 'busy' };
    const pending = await pendingGroupOf(client, group);
    const trigger = pending === null ? null : dueTrigger(pending, policy, now, flushRequestedAt);
    if (trigger === null) return { planned: null, why: 'not_due' };
    const { limits } = deps.provider;
    const maxRequests = Math.min(policy.maxRequests, limits.maxRequests);
    const queue = await lockPendingRequests(client, group, maxRequests);
    // After a refusal for the enqueued-token limit, the same group would earn the same refusal at once.
    const hold = await tokenLimitHold(client, group, deps.refusalBackoffMs, STATED_LIMIT_MEMORY_MS);
    if (hold.held) return { planned: null, why: 'token_limit' };
    const ceiling = Math.min(deps.maxEnqueuedTokens, hold.statedLimit ?? Number.POSITIVE_INFINITY);
    const room = ceiling - (await enqueuedTokens(client, group.provider, group.model));
    const count = requestsThatFit(queue, { maxRequests, maxBytes: limits.maxBytes, maxTokens: room });
    if (count === 0) return { planned: null, why: 'token_limit' };
    const taken = queue.slice(0, count);
    const promptTokens = taken.reduce((sum, request) => sum + request.estimatedTokens, 0);
    const cost = estimatedCostUsd(deps.pricing, jobType, group, { count, promptTokens });
    if (policy.dailyBudgetUsd !== null && cost !== null) {
      const spentUsd = await spentToday(client, group.jobType);
      if (spentUsd + cost > policy.dailyBudgetUsd) {
        await announceBudgetReached(
          client,
          deps.service,
          group.jobType,
          { dailyBudgetUsd: policy.dailyBudgetUsd, spentUsd, nextBatchUsd: cost },
          now,
        );
        return { planned: null, why: 'budget' };
      }
    }
    const planned = await insertPlannedBatch(client, {
      ...group,
      idempotencyKey: `${deps.instanceId}:${now.getTime()}:${taken[0]!.id}`,
      trigger,
      requestCount: count,
      requestBytes: taken.reduce((sum, request) => sum + request.lineBytes + 1, 0),
      estimatedTokens: promptTokens,
      estimatedCostUsd: cost,
      leaseOwner: deps.instanceId,
      leaseMs: deps.leaseMs,
    });
    await assignRequests(
      client,
      planned.id,
      taken.map((request) => request.id),
    );
    return { planned, trigger };
  });
}
