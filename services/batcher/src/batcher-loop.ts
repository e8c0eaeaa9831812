import type { Pool } from '@batchline/db';
import type { JobTypeSet } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import { type BatchMakerDeps, type MakeOutcome, makePlannedBatch } from './batch-maker.ts';
import type { BatchPolicy } from './batch-policy.ts';
import { type PlannerDeps, planGroupBatch } from './group-planner.ts';
import { reconcilePlannedBatch } from './reconcile.ts';
import { readControls } from './store/controls.ts';
import { leaseAbandonedBatches } from './store/planned-batches.ts';
import { listPendingGroups } from './store/queue.ts';

/** Planned batches one tick takes over at most (each is a provider list and maybe an upload). */
const RECONCILE_PER_TICK = 5;

export interface BatcherLoopDeps extends BatchMakerDeps, PlannerDeps {
  pool: Pool;
  jobTypes: JobTypeSet;
  log: Logger;
  policyOf(jobType: string): BatchPolicy;
  /** BATCH_PROCESSING_ENABLED: false plans no batch (abandoned planned ones are still finished). */
  enabled: boolean;
  now?: () => Date;
}

/**
 * One pass: finishes planned batches whose maker's lease ran out, then plans and makes every due group's batch
 * (groups of a paused job type, or of a job type no longer declared, stay queued). Returns what it made.
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
  if (!deps.enabled) return outcomes;
  const controls = await readControls(deps.pool);
  for (const group of await listPendingGroups(deps.pool)) {
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
      if (plan.planned === null) break;
      const made = await makePlannedBatch(deps, plan.planned);
      outcomes.push(made);
      if (made.outcome !== 'recorded') break;
    }
  }
  return outcomes;
}

/** Runs ticks every `tickMs` until stopped; a failed tick is logged and the next one tries again. */
export function startBatcherLoop(deps: BatcherLoopDeps, tickMs: number): { stop(): Promise<void> } {
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
        if (!stopped) timer = setTimeout(tick, tickMs);
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
