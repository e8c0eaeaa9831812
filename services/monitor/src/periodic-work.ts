import type { Logger } from '@batchline/logging';

/** Work a monitor replica does on a timer (the retry sweep, the retention purge), which can also be run now. */
export interface PeriodicWork<T> {
  /** Runs the work now; its failure rejects this call (on the timer it is logged instead). */
  runOnce(): Promise<T>;
  /** Stops the timer and waits for a run in progress, which sees `isStopped()` and ends early. */
  stop(): Promise<void>;
}

/**
 * Runs `work` every `everyMs` and on demand. A run on the timer that fails is logged with `failure` and the next tick
 * tries again; `stop` waits for the run in progress, so a shutdown never cuts work off halfway through a step.
 */
export function runPeriodically<T>(
  work: (isStopped: () => boolean) => Promise<T>,
  { everyMs, log, failure }: { everyMs: number; log: Logger; failure: string },
): PeriodicWork<T> {
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  const isStopped = () => stopped;
  const timer = setInterval(() => {
    current = work(isStopped).catch((err: unknown) => log.warn({ err }, failure));
  }, everyMs);
  return {
    runOnce: () => {
      const run = work(isStopped);
      current = run.catch(() => undefined);
      return run;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}
