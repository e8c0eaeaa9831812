import { enqueueOutbox, type Pool } from '@batchline/db';
import {
  classifyProviderStatus,
  type EndReason,
  isKnownProviderStatus,
  nextPollDelayMs,
  pollDelayMs,
} from '@batchline/domain';
import { opsErrorEvent, type StatusChangedEvent, Subjects, validateEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { type ProviderBatch, ProviderError, type ProviderSet } from '@batchline/providers';
import { traceHeaders } from '@batchline/telemetry';
import type { PollerMetrics } from './metrics.ts';
import { noteProviderHealth, type OutageEpisodes } from './outage-episodes.ts';
import { isSystemicNotFound, pauseForError, pauseKindOf } from './provider-health.ts';
import { recordProviderCheck, rescheduleBatch } from './store/check-records.ts';
import type { LeasedBatch } from './store/leases.ts';

export interface CheckDeps {
  pool: Pool;
  providers: ProviderSet;
  /** POLL_SCHEDULE: delays between checks, from submission; the last repeats. */
  schedule: readonly number[];
  /** POLL_ERROR_BACKOFF: delays after failed checks in a row; the last repeats. */
  errorBackoff: readonly number[];
  /** BATCH_MAX_AGE. */
  maxAgeMs: number;
  /** After cancelling an over-age batch, how long to wait for the provider to end it. */
  cancelGraceMs: number;
  /** After a 404, when the confirming re-check runs. */
  notFoundConfirmMs: number;
  rateLimitPauseMs: number;
  probeIntervalMs: number;
  log: Logger;
  /** Jitter source in [0, 1). */
  random?: () => number;
  /** Counters of transitions and failures, when the caller serves metrics (the poller service does). */
  metrics?: PollerMetrics;
  /** Provider outages announced once per episode, when the caller announces them (the poller service does). */
  outages?: OutageEpisodes;
}

/**
 * What one check did: recorded an unchanged status, a transition or a terminal status; rescheduled the batch
 * after a failure; paused its whole provider; or found its lease taken over.
 */
export type CheckOutcome = 'unchanged' | 'transition' | 'terminal' | 'rescheduled' | 'paused' | 'lease_lost';

export interface CheckResult {
  outcome: CheckOutcome;
  /** The kind of the failure (a `ProviderError` kind, or `unexpected`), when the check failed. */
  errorKind?: string;
  /** For a terminal outcome: whether the provider completed the batch (else it failed, expired, ...). */
  completed?: boolean;
}

/** What a check learned: the provider's view, whether it is final, and why. */
interface Observation {
  state: ProviderBatch | null;
  status: string;
  terminal: boolean;
  reason: EndReason | null;
  /** Why we ended it ourselves (max age, not found), for `log_details`. */
  note?: Record<string, unknown>;
  cancelRequested?: boolean;
}

/**
 * One status check of one leased batch. The provider is asked, what it says is mapped once (domain), and the
 * result is written back under the lease with its `batch.status.changed` event in the same transaction, so an
 * event is never lost between commit and publish. Errors are classified once (ProviderError.kind) and handled
 * here: a rate limit, an exhausted quota or refused credentials pause the whole provider for every replica; a
 * 404 ends the batch only after a confirming re-check and only when the 404s are not systemic; anything else
 * reschedules with backoff. Never throws for a provider failure.
 */
export async function checkBatch(deps: CheckDeps, batch: LeasedBatch): Promise<CheckResult> {
  const log = deps.log.child({
    batchLogId: batch.id,
    provider: batch.provider,
    providerBatchId: batch.batchId,
  });
  let observed: Observation;
  const attempt = { cancelRequested: false };
  try {
    observed =
      batch.ageMs >= deps.maxAgeMs && batch.providerTerminalAt === null
        ? await checkOverAge(deps, batch, attempt, log)
        : observe(await deps.providers.get(batch.provider).getBatch(batch.batchId), batch, log);
  } catch (error) {
    if (deps.outages) await noteProviderHealth(deps.outages, batch.provider, error);
    return handleFailure(deps, batch, error, attempt.cancelRequested, log);
  }
  if (deps.outages) await noteProviderHealth(deps.outages, batch.provider, null);
  return record(deps, batch, observed, log);
}

function observe(state: ProviderBatch, batch: LeasedBatch, log: Logger): Observation {
  if (!isKnownProviderStatus(batch.provider, state.status)) {
    log.warn({ providerStatus: state.status }, 'unknown provider status; treated as not terminal');
  }
  const phase = classifyProviderStatus(batch.provider, state.status, state.endedRequestCounts);
  if (batch.providerTerminalAt !== null && !phase.terminal) {
    // A stale read after a terminal one: the recorded terminal status stands (the database keeps it too).
    log.warn(
      { providerStatus: state.status },
      'provider reported a non-terminal status after a terminal one',
    );
  }
  return {
    state,
    status: state.status,
    terminal: phase.terminal,
    reason: phase.terminal ? phase.reason : null,
  };
}

/**
 * A batch past BATCH_MAX_AGE: asked to cancel once (best effort), then followed until the provider ends it so
 * that whatever output it has can land; ended by us with reason `max_age` when the provider does not end it
 * within the grace period. A batch the provider completed meanwhile stays completed.
 */
async function checkOverAge(
  deps: CheckDeps,
  batch: LeasedBatch,
  attempt: { cancelRequested: boolean },
  log: Logger,
): Promise<Observation> {
  const provider = deps.providers.get(batch.provider);
  const graceOver = batch.cancelRequestedAgoMs !== null && batch.cancelRequestedAgoMs >= deps.cancelGraceMs;
  let state: ProviderBatch | null = null;
  try {
    if (batch.cancelRequestedAgoMs === null) {
      log.warn(
        { ageMs: batch.ageMs, maxAgeMs: deps.maxAgeMs },
        'batch outlived BATCH_MAX_AGE; cancelling it',
      );
      // Counted as asked even when the call fails, so that the grace period runs while the provider is away.
      attempt.cancelRequested = true;
      state = await provider.cancelBatch(batch.batchId).catch(async (error: unknown) => {
        // Cancelling a batch that just ended is refused: its state says so.
        if (error instanceof ProviderError && error.kind === 'bad_request')
          return provider.getBatch(batch.batchId);
        throw error;
      });
    } else {
      state = await provider.getBatch(batch.batchId);
    }
  } catch (error) {
    if (!graceOver && !(error instanceof ProviderError && error.kind === 'not_found')) throw error;
    log.warn({ err: error }, 'the over-age batch could not be looked at; ending it with what is known');
  }
  const phase = state ? classifyProviderStatus(batch.provider, state.status, state.endedRequestCounts) : null;
  const note = { maxAge: { ageMs: batch.ageMs, maxAgeMs: deps.maxAgeMs, graceOver } };
  const { cancelRequested } = attempt;
  if (phase?.terminal) {
    const reason = phase.reason === 'completed' ? 'completed' : 'max_age';
    return { state, status: state!.status, terminal: true, reason, note, cancelRequested };
  }
  if (graceOver || state === null) {
    log.warn('the provider did not end the over-age batch in time; ended by us');
    return {
      state,
      status: state?.status ?? batch.providerStatus ?? 'unknown',
      terminal: true,
      reason: 'max_age',
      note,
      cancelRequested,
    };
  }
  return { state, status: state.status, terminal: false, reason: null, cancelRequested };
}

async function record(
  deps: CheckDeps,
  batch: LeasedBatch,
  observed: Observation,
  log: Logger,
): Promise<CheckResult> {
  const random = deps.random ?? Math.random;
  const state = observed.state;
  const staleRead = batch.providerTerminalAt !== null && !observed.terminal;
  const changed = observed.status !== batch.providerStatus && !staleRead;
  const event: StatusChangedEvent | null =
    changed || observed.terminal
      ? validateEvent(Subjects.statusChanged, {
          batchLogId: batch.id,
          provider: batch.provider,
          providerBatchId: batch.batchId,
          previousProviderStatus: batch.providerStatus,
          providerStatus: observed.status,
          terminal: observed.terminal,
          reason: observed.reason,
          inputFileId: state?.inputFileId ?? batch.inputFileId,
          outputFileId: state?.outputFileId ?? batch.outputFileId,
          errorFileId: state?.errorFileId ?? batch.errorFileId,
          requestCounts: state?.requestCounts ?? null,
          providerErrors: state?.errors ?? [],
          observedAt: new Date().toISOString(),
        })
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
    nextPollDelayMs: nextPollDelayMs(deps.schedule, batch.ageMs, random()),
    cancelRequested: observed.cancelRequested ?? false,
    logDetails: observed.terminal
      ? {
          reason: observed.reason,
          providerStatus: observed.status,
          providerErrors: state?.errors ?? [],
          ...observed.note,
        }
      : undefined,
    event: event && {
      subject: Subjects.statusChanged,
      // One id per transition: a re-sent transition is de-duplicated by the outbox and by JetStream.
      msgId: `status:${batch.id}:${observed.reason ?? observed.status}`,
      payload: event,
      // The poll span's context: the fetch, persist and final message of the batch continue this trace.
      headers: traceHeaders(),
    },
  });
  if (!recorded) {
    log.warn('lease lost before the check was recorded; another poller owns this batch now');
    return { outcome: 'lease_lost' };
  }
  if (event) {
    deps.metrics?.statusTransitions.inc({ provider: batch.provider, to: observed.status });
    log.info(
      {
        from: batch.providerStatus,
        to: observed.status,
        terminal: observed.terminal,
        reason: observed.reason,
        requestCounts: state?.requestCounts ?? null,
      },
      'provider status changed',
    );
  }
  if (observed.terminal) return { outcome: 'terminal', completed: observed.reason === 'completed' };
  return { outcome: changed ? 'transition' : 'unchanged' };
}

const backoffMs = (deps: CheckDeps, batch: LeasedBatch, error: ProviderError | null): number =>
  Math.max(
    error?.retryAfterMs ?? 0,
    pollDelayMs(deps.errorBackoff, batch.pollErrors, (deps.random ?? Math.random)()),
  );

async function handleFailure(
  deps: CheckDeps,
  batch: LeasedBatch,
  error: unknown,
  cancelRequested: boolean,
  log: Logger,
): Promise<CheckResult> {
  const providerError = error instanceof ProviderError ? error : null;
  const errorKind = providerError?.kind ?? 'unexpected';
  deps.metrics?.providerErrors.inc({ provider: batch.provider, kind: errorKind });
  const message = error instanceof Error ? error.message : String(error);
  const reschedule = async (
    nextPollDelayMs: number,
    extra: { countsAsFailure?: boolean; notFound?: boolean } = {},
  ) => {
    const kept = await rescheduleBatch(deps.pool, {
      id: batch.id,
      leaseVersion: batch.leaseVersion,
      nextPollDelayMs,
      lastError: message,
      cancelRequested,
      ...extra,
    });
    if (!kept) log.warn('lease lost before the failed check was recorded');
    return kept;
  };

  const pauseKind = providerError ? pauseKindOf(providerError) : null;
  if (providerError && pauseKind) {
    const pause = await pauseForError(deps, batch.provider, pauseKind, providerError, message);
    // This batch waits with everyone else; the pause, not its own backoff, decides when.
    const waitMs = Math.max(1, pause.remainingMs);
    const kept = await reschedule(waitMs, { countsAsFailure: false });
    return { outcome: kept ? 'paused' : 'lease_lost', errorKind };
  }

  if (providerError?.kind === 'not_found') {
    if (batch.notFoundAt === null) {
      log.warn('the provider answered 404; confirming with a re-check before ending the batch');
      const kept = await reschedule(deps.notFoundConfirmMs, { notFound: true });
      return { outcome: kept ? 'rescheduled' : 'lease_lost', errorKind };
    }
    let systemic: boolean;
    try {
      systemic = await isSystemicNotFound(deps, batch.provider);
    } catch (canaryError) {
      log.warn({ err: canaryError }, 'could not tell whether the 404s are systemic; re-checking later');
      const kept = await reschedule(backoffMs(deps, batch, null), { notFound: true });
      return { outcome: kept ? 'rescheduled' : 'lease_lost', errorKind };
    }
    if (systemic) {
      const pause = await pauseForError(
        deps,
        batch.provider,
        'not_found',
        providerError,
        'the provider answers 404 for many batches at once (or for its batch list): wrong base URL, key or project?',
      );
      const waitMs = Math.max(1, pause.remainingMs);
      const kept = await reschedule(waitMs, { countsAsFailure: false, notFound: true });
      return { outcome: kept ? 'paused' : 'lease_lost', errorKind };
    }
    log.warn('the provider no longer knows this batch (404 confirmed); ending it');
    return record(
      deps,
      batch,
      {
        state: null,
        status: 'not_found',
        terminal: true,
        reason: 'not_found',
        note: { notFound: { firstAt: batch.notFoundAt.toISOString(), detail: message } },
      },
      log,
    );
  }

  const delay = backoffMs(deps, batch, providerError);
  const transient = providerError?.transient ?? false;
  log.warn({ err: error, kind: errorKind, delayMs: delay }, 'status check failed; rescheduled');
  const kept = await reschedule(delay);
  if (!transient) {
    // Not a passing trouble: say so (once an hour per provider and kind), whatever the batch.
    await enqueueOutbox(
      deps.pool,
      opsErrorEvent({
        service: 'poller',
        kind: 'provider_error',
        severity: 'high',
        message: `${batch.provider}: a status check failed (${errorKind}); the batch is retried with backoff`,
        provider: batch.provider,
        batchLogId: batch.id,
        providerBatchId: batch.batchId,
        detail: message,
        occurrenceKey: `${errorKind}:${new Date().toISOString().slice(0, 13)}`,
        nextStep:
          'Look at last_poll_error of the batch and the poller log; the batch stays pending meanwhile.',
      }),
    );
  }
  return { outcome: kept ? 'rescheduled' : 'lease_lost', errorKind };
}
