import { unitHash } from './random.ts';
import type { BatchRequestLine, LineFault } from './types.ts';

/** A test's line faults, told which attempt at a request this batch is (1: the first batch that carries it). */
export type AttemptLineFaults = (
  customId: string,
  request: BatchRequestLine,
  attempt: number,
) => LineFault | undefined;

/**
 * Line faults that fail a share of requests with HTTP errors on their first attempts only, so that retry rounds
 * converge: which requests (`share`, drawn by a hash of the custom id), how many attempts fail (`failedAttempts`),
 * and which status each failure carries (cycled through `statuses` by the same hash). Deterministic: a rerun fails
 * the same requests the same way.
 */
export function transientFailures(options: {
  share: number;
  failedAttempts: number;
  statuses?: readonly number[];
}): AttemptLineFaults {
  const statuses = options.statuses ?? [429, 500];
  return (customId, _request, attempt) => {
    const draw = unitHash(`transient:${customId}`);
    if (draw >= options.share || attempt > options.failedAttempts) return undefined;
    const status = statuses[Math.floor((draw / options.share) * statuses.length) % statuses.length]!;
    return { kind: 'http', status, message: `transient failure ${attempt} of ${options.failedAttempts}` };
  };
}

/**
 * Counts the attempts at each custom id across the batches an emulator plans (OpenAI and Anthropic alike), and
 * hands the count to the test's line faults. Planning reads each line of a batch once, at its creation.
 */
export function countingAttempts(
  faults: AttemptLineFaults | undefined,
): ((customId: string, request: BatchRequestLine) => LineFault | undefined) | undefined {
  if (faults === undefined) return undefined;
  const attempts = new Map<string, number>();
  return (customId, request) => {
    const attempt = (attempts.get(customId) ?? 0) + 1;
    attempts.set(customId, attempt);
    return faults(customId, request, attempt);
  };
}
