import { type StatusChangedEvent, Subjects } from '@batchline/bus';
import { type LeasedBatch, type Pool, recordProviderCheck, rescheduleBatch } from '@batchline/db';
import {
  classifyProviderStatus,
  type EndReason,
  isKnownProviderStatus,
  pollDelayMs,
} from '@batchline/domain';
import type { Logger } from '@batchline/logging';
import { type BatchProvider, type ProviderBatch, ProviderError } from '@batchline/providers';

export interface CheckDeps {
  pool: Pool;
  provider: BatchProvider;
  schedule: readonly number[];
  maxAgeMs: number;
  log: Logger;
  random?: () => number;
}

export type CheckOutcome = 'unchanged' | 'transition' | 'terminal' | 'rescheduled' | 'lease_lost';

/**
 * One status check of one leased batch: asks the provider, and records what it said. A status change is written
 * together with its `batch.status.changed` outbox row, so the event cannot be lost between commit and publish.
 */
export async function checkBatch(deps: CheckDeps, batch: LeasedBatch): Promise<CheckOutcome> {
  const random = deps.random ?? Math.random;
  const nextPollDelayMs = pollDelayMs(deps.schedule, batch.pollAttempt + 1, random());
  const log = deps.log.child({ batchLogId: batch.id, providerBatchId: batch.batchId });

  let observed: { state: ProviderBatch | null; status: string; terminal: boolean; reason: EndReason | null };
  try {
    if (batch.ageMs >= deps.maxAgeMs) {
      observed = await expireAtProvider(deps, batch, log);
    } else {
      const state = await deps.provider.getBatch(batch.batchId);
      if (!isKnownProviderStatus(batch.provider, state.status)) {
        log.warn({ providerStatus: state.status }, 'unknown provider status; treated as not terminal');
      }
      const phase = classifyProviderStatus(batch.provider, state.status);
      observed = {
        state,
        status: state.status,
        terminal: phase.terminal,
        reason: phase.terminal ? phase.reason : null,
      };
    }
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'not_found') {
      log.warn('the provider no longer knows this batch');
      observed = { state: null, status: 'not_found', terminal: true, reason: 'not_found' };
    } else {
      const retryAfterMs = error instanceof ProviderError ? (error.retryAfterMs ?? 0) : 0;
      const delay = Math.max(retryAfterMs, nextPollDelayMs);
      log.warn(
        { err: error, kind: error instanceof ProviderError ? error.kind : 'unexpected', delayMs: delay },
        'status check failed; rescheduled',
      );
      await rescheduleBatch(deps.pool, {
        id: batch.id,
        leaseVersion: batch.leaseVersion,
        nextPollDelayMs: delay,
        lastError: error instanceof Error ? error.message : String(error),
      });
      return 'rescheduled';
    }
  }

  const changed = observed.status !== batch.providerStatus;
  const state = observed.state;
  const event: StatusChangedEvent | null =
    changed || observed.terminal
      ? {
          batchLogId: batch.id,
          provider: batch.provider,
          providerBatchId: batch.batchId,
          previousProviderStatus: batch.providerStatus,
          providerStatus: observed.status,
          terminal: observed.terminal,
          reason: observed.reason,
          inputFileId: state?.inputFileId ?? batch.inputFileId,
          outputFileId: state?.outputFileId ?? null,
          errorFileId: state?.errorFileId ?? null,
          requestCounts: state?.requestCounts ?? null,
          providerErrors: state?.errors ?? [],
          observedAt: new Date().toISOString(),
        }
      : null;
  const recorded = await recordProviderCheck(deps.pool, {
    id: batch.id,
    leaseVersion: batch.leaseVersion,
    providerStatus: observed.status,
    requestCounts: state?.requestCounts ?? null,
    inputFileId: state?.inputFileId ?? batch.inputFileId,
    outputFileId: state?.outputFileId ?? null,
    errorFileId: state?.errorFileId ?? null,
    terminal: observed.terminal,
    nextPollDelayMs,
    event: event && {
      subject: Subjects.statusChanged,
      // One id per transition: a re-sent transition is de-duplicated by the outbox and by JetStream.
      msgId: `status:${batch.id}:${observed.reason ?? observed.status}`,
      payload: event,
      headers: {},
    },
  });
  if (!recorded) {
    log.warn('lease lost before the check was recorded; another poller owns this batch now');
    return 'lease_lost';
  }
  if (event)
    log.info(
      { from: batch.providerStatus, to: observed.status, terminal: observed.terminal },
      'provider status changed',
    );
  return observed.terminal ? 'terminal' : changed ? 'transition' : 'unchanged';
}

/** A batch past BATCH_MAX_AGE: cancel it at the provider (best effort) and end it with whatever output it has. */
async function expireAtProvider(
  deps: CheckDeps,
  batch: LeasedBatch,
  log: Logger,
): Promise<{ state: ProviderBatch | null; status: string; terminal: true; reason: 'max_age' }> {
  let state: ProviderBatch | null = null;
  try {
    state = await deps.provider.cancelBatch(batch.batchId);
  } catch (error) {
    log.warn({ err: error }, 'cancelling an over-age batch failed; ending it anyway');
  }
  log.warn({ ageMs: batch.ageMs, maxAgeMs: deps.maxAgeMs }, 'batch outlived BATCH_MAX_AGE; ended by us');
  return {
    state,
    status: state?.status ?? batch.providerStatus ?? 'unknown',
    terminal: true,
    reason: 'max_age',
  };
}
