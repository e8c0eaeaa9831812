import type { BatchOutcome, BatchStatus, EmulatorClock } from './types.ts';

export interface LifecycleInput {
  createdAtMs: number;
  clock: EmulatorClock;
  outcome: BatchOutcome;
  /** When a client asked to cancel; the cancel handler only accepts it while the batch is not terminal. */
  cancelRequestedAtMs: number | null;
}

export interface LifecycleState {
  status: BatchStatus;
  terminal: boolean;
  /** Share of the requests (in execution order) that have run. */
  ranFraction: number;
  inProgressAtMs: number | null;
  finalizingAtMs: number | null;
  completedAtMs: number | null;
  failedAtMs: number | null;
  expiredAtMs: number | null;
  cancellingAtMs: number | null;
  cancelledAtMs: number | null;
}

const clamp01 = (value: number): number => Math.min(1, Math.max(0, value));

/**
 * Derives a batch's state at `now` from its creation time, the phase lengths, its scripted outcome and any
 * cancel request — lazily, so the emulator needs no timers:
 * validating → in_progress → finalizing → completed; validating → failed; in_progress → expired;
 * validating | in_progress | finalizing → cancelling → cancelled.
 */
export function deriveLifecycle(input: LifecycleInput, now: number): LifecycleState {
  const { createdAtMs, clock, outcome } = input;
  const inProgressAt = createdAtMs + clock.validatingMs;
  const runEndAt = inProgressAt + clock.inProgressMs;
  const progressAt = (t: number): number =>
    clock.inProgressMs <= 0 ? (t >= inProgressAt ? 1 : 0) : clamp01((t - inProgressAt) / clock.inProgressMs);
  const state: LifecycleState = {
    status: 'validating',
    terminal: false,
    ranFraction: 0,
    inProgressAtMs: null,
    finalizingAtMs: null,
    completedAtMs: null,
    failedAtMs: null,
    expiredAtMs: null,
    cancellingAtMs: null,
    cancelledAtMs: null,
  };

  const scriptedCancelAt =
    outcome.status === 'cancelled'
      ? inProgressAt + clock.inProgressMs * clamp01(outcome.completedFraction)
      : null;
  const cancelAt = minOf(input.cancelRequestedAtMs, scriptedCancelAt);
  if (cancelAt !== null && cancelAt <= now) {
    const byClient = cancelAt === input.cancelRequestedAtMs;
    state.cancellingAtMs = cancelAt;
    state.cancelledAtMs = cancelAt + clock.cancellingMs;
    state.status = now >= state.cancelledAtMs ? 'cancelled' : 'cancelling';
    state.terminal = state.status === 'cancelled';
    state.ranFraction =
      !byClient && outcome.status === 'cancelled' ? clamp01(outcome.completedFraction) : progressAt(cancelAt);
    if (outcome.status === 'failed') state.ranFraction = 0;
    if (cancelAt >= inProgressAt && outcome.status !== 'failed') state.inProgressAtMs = inProgressAt;
    if (cancelAt >= runEndAt && outcome.status === 'completed') state.finalizingAtMs = runEndAt;
    return state;
  }

  if (now < inProgressAt) return state;
  if (outcome.status === 'failed') {
    return { ...state, status: 'failed', terminal: true, failedAtMs: inProgressAt };
  }
  state.inProgressAtMs = inProgressAt;
  const cap = outcome.status === 'expired' ? clamp01(outcome.completedFraction) : 1;
  if (now < runEndAt) {
    return { ...state, status: 'in_progress', ranFraction: Math.min(progressAt(now), cap) };
  }
  if (outcome.status === 'expired') {
    return { ...state, status: 'expired', terminal: true, ranFraction: cap, expiredAtMs: runEndAt };
  }
  state.finalizingAtMs = runEndAt;
  state.ranFraction = 1;
  const completedAt = runEndAt + clock.finalizingMs;
  if (now < completedAt) return { ...state, status: 'finalizing' };
  return { ...state, status: 'completed', terminal: true, completedAtMs: completedAt };
}

function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
