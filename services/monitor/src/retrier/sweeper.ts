import { randomUUID } from 'node:crypto';
import type { Logger } from '@batchline/logging';
import type { ActionDeps } from '../actions/action-deps.ts';
import { retryFailedRequests } from '../actions/retry.ts';
import { ApiError } from '../api-error.ts';
import { type PeriodicWork, runPeriodically } from '../periodic-work.ts';
import type { RequestContext } from '../request-context.ts';
import { claimDueRounds, postponeRound, settleRound } from '../store/retry-rounds.ts';
import { underJobLock } from './round-decision.ts';

/** Who the audit log names for a retry round the retrier submitted. */
export const RETRIER_ACTOR = 'retrier';

/**
 * Refusals of the retry that mean no round will go out for this batch (anything else is tried again). A provider
 * the monitor cannot act on (Anthropic, or OpenAI without OPENAI_API_KEY) is one: waiting would keep its job from
 * ever ending.
 */
const NOTHING_TO_SEND = new Set([
  'nothing_to_retry',
  'input_unavailable',
  'batch_not_found',
  'provider_not_configured',
]);

export interface RetrySweeperOptions {
  deps: ActionDeps;
  log: Logger;
  /** This replica's name in the round leases. */
  holder: string;
  intervalMs: number;
  /** A replica that dies mid-submission loses its rounds after this long. */
  leaseMs?: number;
  /** A round whose submission failed (provider down, no key) is due again after this long. */
  retryAfterMs?: number;
  /** A job was finalized (its `job.finalized` is in the outbox). */
  finalized: () => void;
}

/** Submits the due rounds this replica can claim (`runOnce` resolves with how many it settled). */
export type RetrySweeper = PeriodicWork<number>;

const contextOfRound = (parentBatchLogId: number): RequestContext => ({
  principal: { actor: RETRIER_ACTOR, role: 'operator' },
  requestId: randomUUID(),
  clientIp: 'local',
  method: 'RETRIER',
  route: `retry round of batch log ${parentBatchLogId}`,
  audited: false,
});

/**
 * The retrier's sweeper, on every monitor replica: claims due retry rounds (SKIP LOCKED, under a lease) and
 * submits each through the manual retry's code path (its claim makes one retry per batch, whoever asks). A replica
 * that dies leaves its rounds planned; they are claimed again when the lease runs out, and a retry already made
 * (by it before dying, or by an operator) is found and recorded as the round's batch.
 */
export function startRetrySweeper(options: RetrySweeperOptions): RetrySweeper {
  const { deps, log, holder } = options;
  const leaseMs = options.leaseMs ?? 10 * 60_000;
  const retryAfterMs = options.retryAfterMs ?? 60_000;
  const settle = async (parent: number, batchJobId: number, outcome: Parameters<typeof settleRound>[3]) => {
    const done = await underJobLock(deps.pool, batchJobId, (client) =>
      settleRound(client, parent, holder, outcome),
    );
    if (done?.finalized) {
      log.info({ batchJobId, outcome: done.finalized.outcome }, 'job finalized');
      options.finalized();
    }
  };

  const submit = async (parent: number, batchJobId: number): Promise<void> => {
    try {
      const retry = await retryFailedRequests(deps, contextOfRound(parent), parent, null);
      await settle(parent, batchJobId, { retryBatchLogId: retry.id });
      log.info(
        { batchLogId: parent, retryBatchLogId: retry.id, requests: retry.requests },
        'retry round submitted',
      );
    } catch (error) {
      const retryBatchLogId = error instanceof ApiError ? error.extra?.retryBatchLogId : undefined;
      if (typeof retryBatchLogId === 'number') {
        await settle(parent, batchJobId, { retryBatchLogId });
      } else if (error instanceof ApiError && NOTHING_TO_SEND.has(error.code)) {
        await settle(parent, batchJobId, { reason: error.code });
      } else {
        const why = error instanceof ApiError ? error.code : String(error);
        log.warn({ batchLogId: parent, why }, 'retry round not submitted; it is tried again');
        await postponeRound(deps.pool, parent, holder, retryAfterMs, why);
      }
    }
  };

  const sweep = async (isStopped: () => boolean): Promise<number> => {
    let settled = 0;
    while (!isStopped()) {
      const rounds = await claimDueRounds(deps.pool, holder, leaseMs, 10);
      if (rounds.length === 0) break;
      for (const round of rounds) {
        await submit(round.parentBatchLogId, round.batchJobId);
        settled++;
      }
    }
    return settled;
  };

  return runPeriodically(sweep, { everyMs: options.intervalMs, log, failure: 'retry round sweep failed' });
}
