import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchAttributes, withSpan } from '@batchline/telemetry';
import { type CheckDeps, type CheckResult, checkBatch } from './check-batch.ts';
import { runDueProbes } from './provider-health.ts';
import { type LeasedBatch, leaseDueBatches, nextDueDelayMs } from './store/leases.ts';
import { type PollerCycle, recordPollerCycle } from './store/poll-cycles.ts';
import { oldestNotFoundBatch } from './store/provider-pauses.ts';

export interface PollLoopOptions extends CheckDeps {
  owner: string;
  /** POLL_CHUNK: most batches checked at once by this poller. */
  chunk: number;
  /** POLL_TICK: the longest an idle poller sleeps before looking again. */
  tickMs: number;
  /** POLL_LEASE. */
  leaseMs: number;
  /** Called after a cycle that recorded status changes (to wake the outbox relay). */
  onChanges(): void;
}

export interface PollLoop {
  /** Look for due batches now (a webhook made one due, or an operator asked). */
  wake(): void;
  stop(): Promise<void>;
}

/** The shortest idle sleep: a due batch another poller is leasing right now is not worth spinning for. */
const MIN_IDLE_MS = 20;

/**
 * Leases due batches (`POLL_CHUNK` at a time, SKIP LOCKED so replicas share the work) and checks them
 * concurrently, recording each cycle's figures. When nothing more is due it sleeps until the next batch falls
 * due (at most a tick), or until woken. Probes of paused providers run at most once a tick. A failing cycle
 * (database down) is logged and retried; the loop never dies of it.
 */
export function startPollLoop(options: PollLoopOptions): PollLoop {
  const abort = new AbortController();
  let wakeUp: AbortController | null = null;
  let lastProbeAt = 0;

  const idle = async (ms: number) => {
    wakeUp = new AbortController();
    const signal = AbortSignal.any([abort.signal, wakeUp.signal]);
    await sleep(ms, undefined, { signal }).catch(() => undefined);
    wakeUp = null;
  };

  const probeIfDue = async () => {
    if (Date.now() - lastProbeAt < options.tickMs) return;
    lastProbeAt = Date.now();
    const resumed = await runDueProbes({
      ...options,
      oldestNotFoundBatch: (provider) => oldestNotFoundBatch(options.pool, provider),
    });
    if (resumed.length > 0) options.log.info({ providers: resumed }, 'checks resumed');
  };

  const loop = (async () => {
    while (!abort.signal.aborted) {
      let leasedCount = 0;
      try {
        await probeIfDue();
        const startedAt = new Date();
        const started = performance.now();
        const leased = await leaseDueBatches(options.pool, {
          owner: options.owner,
          limit: options.chunk,
          leaseMs: options.leaseMs,
        });
        const leaseMs = performance.now() - started;
        leasedCount = leased.length;
        if (leased.length > 0) {
          const results = await Promise.all(leased.map((batch) => tracedCheck(options, batch)));
          await recordPollerCycle(
            options.pool,
            cycleFigures(options.owner, startedAt, started, leaseMs, leased, results),
          );
          if (results.some((r) => r.outcome === 'transition' || r.outcome === 'terminal'))
            options.onChanges();
        }
      } catch (error) {
        options.log.error({ err: error }, 'poll cycle failed');
        await idle(options.tickMs);
        continue;
      }
      if (leasedCount >= options.chunk) continue;
      const untilDue = await nextDueDelayMs(options.pool).catch(() => null);
      await idle(
        untilDue === null ? options.tickMs : Math.min(options.tickMs, Math.max(MIN_IDLE_MS, untilDue)),
      );
    }
  })();

  return {
    wake() {
      wakeUp?.abort();
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

/**
 * Each check is the root of a trace: the one that sees a batch end continues into its fetch, persist and Slack
 * message (the event's outbox row keeps the trace context).
 */
function tracedCheck(deps: CheckDeps, batch: LeasedBatch): Promise<CheckResult> {
  return withSpan(
    'poll batch',
    { attributes: batchAttributes({ batchLogId: batch.id, providerBatchId: batch.batchId }) },
    async (span) => {
      const result = await checkBatch(deps, batch);
      span.setAttribute('batchline.poll.outcome', result.outcome);
      return result;
    },
  );
}

function cycleFigures(
  owner: string,
  startedAt: Date,
  started: number,
  leaseMs: number,
  leased: readonly LeasedBatch[],
  results: readonly CheckResult[],
): PollerCycle {
  const errors: Record<string, number> = {};
  for (const { errorKind } of results) if (errorKind) errors[errorKind] = (errors[errorKind] ?? 0) + 1;
  const count = (predicate: (result: CheckResult) => boolean) => results.filter(predicate).length;
  return {
    owner,
    startedAt,
    durationMs: performance.now() - started,
    leaseMs,
    leased: leased.length,
    checked: count((r) => ['unchanged', 'transition', 'terminal'].includes(r.outcome)),
    transitions: count((r) => r.outcome === 'transition' || r.outcome === 'terminal'),
    terminal: count((r) => r.outcome === 'terminal'),
    completed: count((r) => r.outcome === 'terminal' && r.completed === true),
    errors,
    dueDelayMaxMs: Math.max(...leased.map((b) => b.dueDelayMs)),
    dueDelaySumMs: leased.reduce((sum, b) => sum + b.dueDelayMs, 0),
  };
}
