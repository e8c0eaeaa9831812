import { enqueueOutbox, type Pool } from '@batchline/db';
import { opsErrorEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { ProviderError, type ProviderSet } from '@batchline/providers';
import {
  claimProviderCopies,
  claimStuckBatches,
  redriveUnlandedBatches,
  releaseExpiredLeases,
  releaseProviderCopies,
} from './store/sweeps.ts';

export interface SweepOptions {
  pool: Pool;
  providers: ProviderSet;
  log: Logger;
  /** RESULTS_REDRIVE_AFTER. */
  redriveAfterMs: number;
  /** POLL_STUCK_AFTER. */
  stuckAfterMs: number;
  /** DELETE_PROVIDER_FILES. */
  deleteProviderFiles: boolean;
}

export interface SweepReport {
  redriven: number;
  stuck: number;
  leasesReleased: number;
  copiesDeleted: number;
}

/** Rows one sweep handles at most of each kind; the next sweep takes the rest. */
const SWEEP_LIMIT = 500;
/** Batch ids an alert names at most. */
const NAMED_BATCHES = 10;

const named = (ids: readonly number[]) =>
  `${ids.slice(0, NAMED_BATCHES).join(', ')}${ids.length > NAMED_BATCHES ? `, … (${ids.length} in all)` : ''}`;

/**
 * One round of the poller's sweeps; every part is idempotent and safe to run on every replica at once (each row
 * is claimed by one):
 * - batches final at the provider whose results have not landed in time are driven again (event re-published);
 * - pending batches without provider progress for too long raise one "stuck" alert per stall;
 * - leases that ran out are cleared (the batches were already free to be taken over);
 * - with DELETE_PROVIDER_FILES, the provider's copies of landed batches are deleted.
 * (Old poll-cycle records are purged by the monitor's retention purge, RETENTION_POLL_CYCLES_DAYS.)
 */
export async function sweepOnce(options: SweepOptions): Promise<SweepReport> {
  const { pool, log } = options;
  const redriven = await redriveUnlandedBatches(pool, {
    afterMs: options.redriveAfterMs,
    limit: SWEEP_LIMIT,
  });
  if (redriven.length > 0) {
    const ids = redriven.map((batch) => batch.id);
    log.warn({ batchLogIds: ids }, 'results not landed in time; terminal events re-published');
    await enqueueOutbox(
      pool,
      opsErrorEvent({
        service: 'poller',
        kind: 'results_not_landed',
        severity: 'high',
        message: `${redriven.length} batch(es) final at the provider had not landed their results; driven again: ${named(ids)}`,
        provider: redriven[0]!.provider,
        batchLogId: ids[0]!,
        providerBatchId: redriven[0]!.batchId,
        occurrenceKey: `${ids[0]}:${redriven[0]!.redriveCount}`,
        nextStep: 'If it repeats, look at the fetcher and persister logs and the DLQ for these batches.',
      }),
    );
  }

  const stuck = await claimStuckBatches(pool, { afterMs: options.stuckAfterMs, limit: SWEEP_LIMIT });
  if (stuck.length > 0) {
    const ids = stuck.map((batch) => batch.id);
    log.warn({ batchLogIds: ids }, 'batches without provider progress');
    await enqueueOutbox(
      pool,
      opsErrorEvent({
        service: 'poller',
        kind: 'batch_stuck',
        severity: 'medium',
        message: `${stuck.length} pending batch(es) without provider progress for over ${Math.round(options.stuckAfterMs / 60_000)} min: ${named(ids)}`,
        provider: stuck[0]!.provider,
        batchLogId: ids[0]!,
        providerBatchId: stuck[0]!.batchId,
        since: stuck[0]!.stalledSince,
        occurrenceKey: `${ids[0]}:${stuck[0]!.stalledSince.toISOString()}`,
        nextStep: 'Look at the batches at the provider; cancel them there (or let BATCH_MAX_AGE end them).',
      }),
    );
  }

  const leasesReleased = await releaseExpiredLeases(pool);
  if (leasesReleased > 0) log.info({ leases: leasesReleased }, 'expired leases released');

  let copiesDeleted = 0;
  if (options.deleteProviderFiles) {
    for (const copies of await claimProviderCopies(pool, SWEEP_LIMIT)) {
      try {
        const provider = options.providers.get(copies.provider);
        // Anthropic keeps the results under the batch id (its "output file"); OpenAI has real files.
        const ids = copies.provider === 'anthropic' ? [copies.batchId] : copies.fileIds;
        for (const fileId of ids) {
          await provider.deleteFile(fileId).catch((error: unknown) => {
            if (!(error instanceof ProviderError && error.kind === 'not_found')) throw error;
          });
        }
        copiesDeleted += 1;
      } catch (error) {
        log.warn({ err: error, batchLogId: copies.id }, 'deleting the provider copies failed; will retry');
        await releaseProviderCopies(pool, copies.id);
      }
    }
  }

  return { redriven: redriven.length, stuck: stuck.length, leasesReleased, copiesDeleted };
}

/** Runs `sweepOnce` every `intervalMs` until stopped; a failing round is logged, never fatal. */
export function startSweeps(options: SweepOptions & { intervalMs: number; onRedrive(): void }): {
  stop(): Promise<void>;
} {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const run = () => {
    running = sweepOnce(options)
      .then((report) => {
        if (report.redriven > 0 || report.stuck > 0) options.onRedrive();
      })
      .catch((error: unknown) => options.log.error({ err: error }, 'sweep failed'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(run, options.intervalMs);
      });
  };
  timer = setTimeout(run, options.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
