import { z } from 'zod';
import { type CreateInterval, lastFirings, nextFiring, parseCreateInterval } from './create-interval.ts';

/** How one job type's requests are batched (BATCH_* settings, overridden per job type by BATCHER_JOB_TYPES). */
export interface BatchPolicy {
  maxRequests: number;
  minSize: number;
  interval: CreateInterval;
  /** US dollars a day (UTC) this job type's batches may cost; null: no budget. */
  dailyBudgetUsd: number | null;
}

/** Why a group's batch is made now. */
export type BatchTrigger = 'size' | 'interval' | 'on_demand' | 'overdue';

/** What is known of one group (job type, provider, model) of pending requests. */
export interface PendingGroup {
  pending: number;
  oldestEnqueuedAt: Date;
}

/**
 * Whether a group's batch is due now, and why: on demand when a "batch now" was asked for after its oldest
 * request came; on size when it holds `maxRequests`; on the interval when a firing passed since its oldest request
 * came and it holds `minSize`; overdue when its oldest request has waited two firings, whatever its size.
 */
export function dueTrigger(
  group: PendingGroup,
  policy: BatchPolicy,
  now: Date,
  flushRequestedAt: Date | null,
): BatchTrigger | null {
  if (group.pending === 0) return null;
  if (flushRequestedAt !== null && group.oldestEnqueuedAt <= flushRequestedAt) return 'on_demand';
  if (group.pending >= policy.maxRequests) return 'size';
  const [latest, before] = lastFirings(policy.interval, now);
  if (group.oldestEnqueuedAt >= latest) return null;
  if (group.pending >= policy.minSize) return 'interval';
  return group.oldestEnqueuedAt < before ? 'overdue' : null;
}

/** A pending request as the cut sees it, in queue order. */
export interface QueuedRequest {
  lineBytes: number;
  estimatedTokens: number;
}

/** What one batch may hold: requests, bytes of its file, and tokens the provider may still enqueue for the model. */
export interface BatchCapacity {
  maxRequests: number;
  maxBytes: number;
  maxTokens: number;
}

/**
 * How many of the queued requests (a prefix, keeping queue order) fit in one batch. 0 when not even the first
 * fits: the group waits (for in-flight batches to end) rather than earn the provider's refusal.
 */
export function requestsThatFit(queue: readonly QueuedRequest[], capacity: BatchCapacity): number {
  let bytes = 0;
  let tokens = 0;
  let count = 0;
  for (const request of queue) {
    if (count >= capacity.maxRequests) break;
    // Each line ends with a newline in the file.
    const nextBytes = bytes + request.lineBytes + 1;
    const nextTokens = tokens + request.estimatedTokens;
    if (nextBytes > capacity.maxBytes || nextTokens > capacity.maxTokens) break;
    bytes = nextBytes;
    tokens = nextTokens;
    count += 1;
  }
  return count;
}

const Override = z
  .object({
    maxRequests: z.number().int().positive().optional(),
    minSize: z.number().int().positive().optional(),
    interval: z.string().optional(),
    dailyBudgetUsd: z.number().positive().nullable().optional(),
  })
  .strict();
const Overrides = z.record(z.string().min(1), Override);

/** One job type's departures from the defaults. */
export type PolicyOverride = Partial<BatchPolicy>;

/**
 * Parses BATCHER_JOB_TYPES (`{"sentiment": {"maxRequests": 1000, "minSize": 10, "interval": "*\/5 * * * *",
 * "dailyBudgetUsd": 20}}`); the error names the job type and field.
 */
export function parsePolicyOverrides(
  text: string,
): { overrides: Map<string, PolicyOverride> } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: 'is not JSON' };
  }
  const result = Overrides.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { error: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  const overrides = new Map<string, PolicyOverride>();
  for (const [jobType, { interval, ...rest }] of Object.entries(result.data)) {
    const override: PolicyOverride = { ...rest };
    if (interval !== undefined) {
      const parsedInterval = parseCreateInterval(interval);
      if ('error' in parsedInterval) return { error: `${jobType}.interval: ${parsedInterval.error}` };
      override.interval = parsedInterval.interval;
    }
    overrides.set(jobType, override);
  }
  return { overrides };
}

/** Each job type's policy: the defaults with its overrides laid over them. */
export const policyOf =
  (defaults: BatchPolicy, overrides: ReadonlyMap<string, PolicyOverride>) =>
  (jobType: string): BatchPolicy => ({ ...defaults, ...overrides.get(jobType) });

/**
 * When the group's next batch is due if nothing else arrives: now when it is due, the next firing when it holds
 * `minSize`, else the second firing after its oldest request came (when it is overdue).
 */
export function nextBatchDue(
  group: PendingGroup,
  policy: BatchPolicy,
  now: Date,
  flushRequestedAt: Date | null,
): Date {
  if (dueTrigger(group, policy, now, flushRequestedAt) !== null) return now;
  if (group.pending >= policy.minSize) return nextFiring(policy.interval, now);
  return nextFiring(policy.interval, nextFiring(policy.interval, group.oldestEnqueuedAt));
}
