import { setTimeout as sleep } from 'node:timers/promises';
import { leaseDueBatches, type Pool } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import { type CheckDeps, type CheckOutcome, checkBatch } from './check-batch.ts';

export interface PollLoopOptions extends CheckDeps {
  owner: string;
  chunk: number;
  tickMs: number;
  leaseMs: number;
  pool: Pool;
  log: Logger;
  /** Called after a cycle that recorded status changes (to wake the outbox relay). */
  onChanges(): void;
}

export interface PollLoop {
  stop(): Promise<void>;
}

/**
 * Leases due batches (`POLL_CHUNK` at a time, SKIP LOCKED so replicas share the work) and checks them
 * concurrently; sleeps a tick when nothing more is due.
 */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const abort = new AbortController();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      let leasedCount = 0;
      try {
        const leased = await leaseDueBatches(options.pool, {
          owner: options.owner,
          limit: options.chunk,
          leaseMs: options.leaseMs,
        });
        leasedCount = leased.length;
        if (leased.length > 0) {
          const outcomes: CheckOutcome[] = await Promise.all(
            leased.map((batch) => checkBatch(options, batch)),
          );
          if (outcomes.some((o) => o === 'transition' || o === 'terminal')) options.onChanges();
        }
      } catch (error) {
        options.log.error({ err: error }, 'poll cycle failed');
      }
      if (leasedCount < options.chunk)
        await sleep(options.tickMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();
  return {
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
