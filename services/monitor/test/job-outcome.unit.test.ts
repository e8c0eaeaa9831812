import { describe, expect, it } from 'vitest';
import { jobOutcome } from '../src/store/job-finalization.ts';

describe("a finalized job's outcome", () => {
  it.each([
    [3, 0, 'succeeded'],
    [0, 0, 'succeeded'],
    [2, 1, 'partially_succeeded'],
    [0, 3, 'failed'],
  ] as const)('%i succeeded, %i not: %s', (succeeded, notSucceeded, outcome) => {
    expect(jobOutcome(succeeded, notSucceeded)).toBe(outcome);
  });
});
