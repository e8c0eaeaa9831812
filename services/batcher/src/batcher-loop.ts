import type { Pool } from '@batchline/db';
import type { JobTypeSet } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import { type BatchMakerDeps, type MakeOutcome, makePlannedBatch } from './batch-maker.ts';
import type { BatchPolicy } from './batch-policy.ts';
import { type PlannerDeps, planGroupBatch } from './group-planner.ts';
import { groupId, queueStatus, type TickVerdicts } from './queue-status.ts';
import { queueView } from './queue-view.ts';
import { reconcilePlannedBatch } from './reconcile.ts';
import { type BatcherControl, readControls } from './store/controls.ts';
import { writeGroupStatus } from './store/group-status.ts';
import { leaseAbandonedBatches } from './store/planned-batches.ts';
import { listPendingGroups, type PendingGroupRow } from './store/queue.ts';

/** Planned batches one tick takes over at most (each is a provider list and maybe an upload). */
const RECONCILE_PER_TICK = 5;

/** The queue status stays fresh for this many ticks, and at least this long (a tick may upload a large file). */
const FRESH_TICKS = 5;
const FRESH_AT_LEAST_MS = 120_000;

export interface BatcherLoopDeps extends BatchMakerDeps, PlannerDeps {
  pool: Pool;
  jobTypes: JobTypeSet;
  log: Logger;
  policyOf(jobType: string): BatchPolicy;
  /** BATCH_PROCESSING_ENABLED: false plans no batch (abandoned planned ones are still finished). */
  enabled: boolean;
  /** BATCHER_TICK: how often ticks run (the queue status written by one is stale after a few). */
  tickMs: number;
  now?: () => Date;
}

/**
 * Plans and makes every due group's batch (groups of a paused job type, or of a job type no longer declared, stay
 * queued), noting in `verdicts` why each planned group waits at the end.
 */
async function makeDueBatches(
  deps: BatcherLoopDeps,
  groups: readonly PendingGroupRow[],
  controls: ReadonlyMap<string, BatcherControl>,
  verdicts: TickVerdicts,
  now: () => Date,
): Promise<MakeOutcome[]> {
  const outcomes: MakeOutcome[] = [];
  for (const group of groups) {
    const control = controls.get(group.jobType);
    const jobType = deps.jobTypes.get(group.jobType);
    if (control?.paused || jobType === undefined) continue;
    // A group keeps going out while it is due (a queue larger than one batch leaves in several at once).
    for (;;) {
      const plan = await planGroupBatch(
        deps,
        jobType,
        group,
        deps.policyOf(group.jobType),
        control?.flushRequestedAt ?? null,
        now(),
      );
      if (plan.planned === null) {
        // Another replica planning it ("busy") is making its batch.
        verdicts.set(groupId(group), plan.why === 'busy' ? null : plan.why);
        break;
      }
      const made = await makePlannedBatch(deps, plan.planned);
      outcomes.push(made);
      if (made.outcome !== 'recorded') {
        verdicts.set(groupId(group), null);
        break;
      }
    }
  }
  return outcomes;
}

/**
 * One pass: finishes planned batches whose maker's lease ran out, then plans and makes every due group's batch,
 * then writes the queue's status (`batcher_group_status`, for the dashboard). Returns what it made.
 */
export async function runBatcherTick(deps: BatcherLoopDeps): Promise<MakeOutcome[]> {
  const now = deps.now ?? (() => new Date());
  const outcomes: MakeOutcome[] = [];
  for (const planned of await leaseAbandonedBatches(
    deps.pool,
    deps.instanceId,
    deps.leaseMs,
    RECONCILE_PER_TICK,
  )) {
    outcomes.push(await reconcilePlannedBatch(deps, planned));
  }
  const controls = await readControls(deps.pool);
  let groups = await listPendingGroups(deps.pool);
  const verdicts: TickVerdicts = new Map();
  if (deps.enabled) {
    const made = await makeDueBatches(deps, groups, controls, verdicts, now);
    outcomes.push(...made);
    // Batches made (or refused and re-queued) changed the queue.
    if (made.length > 0) groups = await listPendingGroups(deps.pool);
  }
  const at = now();
  const status = await queueStatus(
    { ...deps, isDeclared: (jobType) => deps.jobTypes.get(jobType) !== undefined },
    queueView(groups, controls, deps.policyOf, at),
    verdicts,
    at,
  );
  await writeGroupStatus(deps.pool, status, Math.max(FRESH_TICKS * deps.tickMs, FRESH_AT_LEAST_MS));
  return outcomes;
}

/** Runs ticks every BATCHER_TICK until stopped; a failed tick is logged and the next one tries again. */
export function startBatcherLoop(deps: BatcherLoopDeps): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running = runBatcherTick(deps)
      .then(
        () => undefined,
        (error: unknown) => deps.log.error({ err: error }, 'batcher tick failed'),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, deps.tickMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
