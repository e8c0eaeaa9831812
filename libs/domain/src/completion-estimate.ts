/**
 * What is known of a pending batch when its completion is estimated. Times are epoch milliseconds, all from one
 * clock (the database's).
 */
export interface CompletionEstimateInput {
  now: number;
  /** Submission. */
  createdAt: number;
  /** The first status check that found the provider working on it (null: not started yet). */
  startedAt: number | null;
  /** The provider reported it terminal: only the landing of its results remains. */
  providerTerminalAt: number | null;
  /** The provider's request counts at the last status check (`observedAt`); null when it reported none. */
  counts: { total: number; done: number } | null;
  observedAt: number | null;
  /** Submission-to-landed durations (ms) of recent completed batches of its job type. */
  historyMs: readonly number[];
}

/** How an estimate was made: the results are landing, from the provider's progress, or from the job type's past. */
export type CompletionEstimateBasis = 'landing' | 'progress' | 'history';

export interface CompletionEstimate {
  at: number;
  basis: CompletionEstimateBasis;
}

/** The median of a non-empty list. */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * When a pending batch should be done (its results landed), or null when nothing supports a guess.
 *
 * - Provider terminal: its results are landing now.
 * - Progress: the provider has reported requests done since it started; the rate from its start to the last
 *   check (done / (observedAt − startedAt)) carries the rest. A check that finds no new progress lowers the rate,
 *   so a stalled batch's estimate moves later instead of sticking in the past. Never before now.
 * - History: the counts do not move yet (not started, nothing done, no counts). Of the job type's past durations,
 *   those longer than this batch has already taken are the ones it can still match; their median, counted from
 *   submission. None left (it is slower than every past batch), or no history: null.
 */
export function estimateCompletion(input: CompletionEstimateInput): CompletionEstimate | null {
  const { now } = input;
  if (input.providerTerminalAt !== null) return { at: now, basis: 'landing' };
  const { counts, startedAt, observedAt } = input;
  if (
    counts !== null &&
    startedAt !== null &&
    observedAt !== null &&
    counts.total > 0 &&
    counts.done > 0 &&
    observedAt > startedAt
  ) {
    const remaining = Math.max(0, counts.total - counts.done);
    const msPerRequest = (observedAt - startedAt) / counts.done;
    return { at: Math.max(now, Math.round(observedAt + remaining * msPerRequest)), basis: 'progress' };
  }
  const elapsed = now - input.createdAt;
  const reachable = input.historyMs.filter((duration) => duration > elapsed);
  if (reachable.length === 0) return null;
  return { at: Math.round(input.createdAt + median(reachable)), basis: 'history' };
}
