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

/**
 * Delay from now until a batch's next status check, on a grid anchored at its submission: check k is due at
 * `s0 + s1 + … + sk` after submission (the schedule's last delay repeats), each moved by up to ±`jitterRatio`
 * of its own step. The next check is the first grid point whose whole jitter band lies after `ageMs`, so a check
 * that ran early or late (jitter, a busy poller, a restart) neither runs again at once nor shifts the grid, and a
 * poller that was down for hours does not catch up with a burst of checks. Always positive. (A step more than
 * nine times shorter than the one before it may be skipped by a late-jittered check.)
 */
export function nextPollDelayMs(
  schedule: readonly number[],
  ageMs: number,
  jitter = 0.5,
  jitterRatio = 0.1,
): number {
  if (schedule.length === 0) throw new RangeError('poll schedule is empty');
  if (schedule.some((step) => !(step > 0))) throw new RangeError('poll schedule steps must be positive');
  if (!Number.isFinite(ageMs)) throw new RangeError(`age must be finite, got ${ageMs}`);
  if (jitter < 0 || jitter >= 1) throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
  const age = Math.max(0, ageMs);
  const jittered = (dueAt: number, step: number) => {
    const spread = step * jitterRatio;
    return dueAt - spread + 2 * spread * jitter - age;
  };
  // The listed steps first; a schedule is short, so walking it is cheap.
  let dueAt = 0;
  for (const step of schedule) {
    dueAt += step;
    if (dueAt - step * jitterRatio > age) return Math.max(1, Math.ceil(jittered(dueAt, step)));
  }
  // Past the list the last step repeats: solve for the first repetition instead of walking (ages reach days).
  const last = schedule.at(-1)!;
  const behind = age + last * jitterRatio - dueAt;
  const repeats = behind < 0 ? 0 : Math.floor(behind / last) + 1;
  return Math.max(1, Math.ceil(jittered(dueAt + repeats * last, last)));
}
