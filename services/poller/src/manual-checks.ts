import { getBatchLog } from '@batchline/db';
import { BatchStatus, type BatchStatusName, batchStatusName } from '@batchline/domain';
import { type CheckDeps, type CheckResult, checkBatch } from './check-batch.ts';
import { leaseBatch, leaseDueBatches, makePendingBatchesDueNow } from './store/leases.ts';
import { redriveBatch } from './store/sweeps.ts';

/** Who checks (e.g. `cli-<host>-<pid>`, shown to operators as the lease owner) and for how long it may. */
export interface ManualCheckOptions {
  owner: string;
  /** POLL_LEASE. */
  leaseMs: number;
}

/** What checking one batch now did. */
export type BatchCheckNow =
  | { outcome: 'unknown' }
  /** The batch is final already: nothing to check. */
  | { outcome: 'final'; statusName: BatchStatusName | string }
  /** Final at the provider but its results have not landed: its final event was published again. */
  | { outcome: 'redriven'; providerStatus: string | null; msgId: string }
  /** Final at the provider and waiting for its results, which are not to be driven again. */
  | { outcome: 'awaiting_results'; providerStatus: string | null }
  /** A poller holds the batch's lease right now. */
  | { outcome: 'leased_elsewhere' }
  | { outcome: 'checked'; result: CheckResult; providerStatus: string | null; lastPollError: string | null };

/**
 * Checks one batch now, whether or not it is due, as a poller would: under a lease, so that it never races a
 * running poller. A batch already final at the provider waits for its results instead: those are driven again.
 */
export async function checkBatchNow(
  deps: CheckDeps,
  id: number,
  { owner, leaseMs }: ManualCheckOptions,
): Promise<BatchCheckNow> {
  const batch = await getBatchLog(deps.pool, id);
  if (!batch) return { outcome: 'unknown' };
  if (batch.status !== BatchStatus.pending) {
    return { outcome: 'final', statusName: batchStatusName(batch.status) };
  }
  if (batch.providerTerminalAt !== null) {
    const redriven = await redriveBatch(deps.pool, id);
    return redriven
      ? { outcome: 'redriven', providerStatus: batch.providerStatus, msgId: redriven.msgId }
      : { outcome: 'awaiting_results', providerStatus: batch.providerStatus };
  }
  const leased = await leaseBatch(deps.pool, id, { owner, leaseMs });
  if (!leased) return { outcome: 'leased_elsewhere' };
  const result = await checkBatch(deps, leased);
  const after = await getBatchLog(deps.pool, id);
  return {
    outcome: 'checked',
    result,
    providerStatus: after?.providerStatus ?? null,
    lastPollError: after?.lastPollError ?? null,
  };
}

/** The most batches one call checks, so that a huge backlog cannot keep it running for ever. */
const MAX_PENDING_CHECKS = 100_000;

export interface PendingChecksReport {
  checked: number;
  /** Checks per outcome; a failed check's error kind follows its outcome in brackets, e.g. `paused (auth)`. */
  tally: Map<string, number>;
}

/**
 * Checks every pending batch now, `chunk` at a time, under leases like the pollers'. Batches of a paused
 * provider, or held back by a pause of polling, are left alone.
 */
export async function checkPendingBatchesNow(
  deps: CheckDeps,
  { owner, leaseMs, chunk }: ManualCheckOptions & { chunk: number },
): Promise<PendingChecksReport> {
  await makePendingBatchesDueNow(deps.pool);
  const tally = new Map<string, number>();
  let checked = 0;
  while (checked < MAX_PENDING_CHECKS) {
    const leased = await leaseDueBatches(deps.pool, { owner, limit: chunk, leaseMs });
    if (leased.length === 0) break;
    for (const result of await Promise.all(leased.map((batch) => checkBatch(deps, batch)))) {
      const key = result.errorKind ? `${result.outcome} (${result.errorKind})` : result.outcome;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    checked += leased.length;
  }
  return { checked, tally };
}
