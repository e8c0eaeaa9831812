/**
 * Delay before the check numbered `attempt` (0 = the first check after submission). The schedule's last delay
 * repeats. `jitter` in [0, 1) spreads checks by up to ±`jitterRatio` of the delay so that batches submitted
 * together do not fall due together forever.
 */
export function pollDelayMs(
  schedule: readonly number[],
  attempt: number,
  jitter = 0.5,
  jitterRatio = 0.1,
): number {
  if (schedule.length === 0) throw new RangeError('poll schedule is empty');
  if (!Number.isInteger(attempt) || attempt < 0)
    throw new RangeError(`attempt must be a non-negative integer, got ${attempt}`);
  if (jitter < 0 || jitter >= 1) throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
  const base = schedule[Math.min(attempt, schedule.length - 1)]!;
  const spread = base * jitterRatio;
  return Math.max(0, Math.round(base - spread + 2 * spread * jitter));
}
