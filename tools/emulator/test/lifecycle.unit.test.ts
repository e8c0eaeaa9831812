import { describe, expect, it } from 'vitest';
import type { BatchOutcome } from '../index.ts';
import { deriveLifecycle } from '../src/lifecycle.ts';

const clock = { validatingMs: 100, inProgressMs: 1_000, finalizingMs: 100, cancellingMs: 50 };
const T0 = 1_000_000;
const at = (outcome: BatchOutcome, elapsed: number, cancelRequestedAtMs: number | null = null) =>
  deriveLifecycle({ createdAtMs: T0, clock, outcome, cancelRequestedAtMs }, T0 + elapsed);

describe('deriveLifecycle', () => {
  it('runs a normal batch through every phase', () => {
    const completed: BatchOutcome = { status: 'completed' };
    expect(at(completed, 0)).toMatchObject({ status: 'validating', ranFraction: 0, terminal: false });
    expect(at(completed, 100)).toMatchObject({
      status: 'in_progress',
      ranFraction: 0,
      inProgressAtMs: T0 + 100,
    });
    expect(at(completed, 600).ranFraction).toBeCloseTo(0.5);
    expect(at(completed, 1_100)).toMatchObject({
      status: 'finalizing',
      ranFraction: 1,
      finalizingAtMs: T0 + 1_100,
    });
    expect(at(completed, 1_200)).toMatchObject({
      status: 'completed',
      terminal: true,
      completedAtMs: T0 + 1_200,
    });
  });

  it('fails at the end of validation', () => {
    const failed: BatchOutcome = { status: 'failed', errors: [] };
    expect(at(failed, 99).status).toBe('validating');
    expect(at(failed, 100)).toMatchObject({
      status: 'failed',
      terminal: true,
      failedAtMs: T0 + 100,
      inProgressAtMs: null,
    });
  });

  it('expires at the end of the run with only the scripted share done', () => {
    const expired: BatchOutcome = { status: 'expired', completedFraction: 0.3 };
    expect(at(expired, 900)).toMatchObject({ status: 'in_progress', ranFraction: 0.3 });
    expect(at(expired, 1_100)).toMatchObject({
      status: 'expired',
      ranFraction: 0.3,
      expiredAtMs: T0 + 1_100,
    });
  });

  it('cancels by script once the share has run', () => {
    const cancelled: BatchOutcome = { status: 'cancelled', completedFraction: 0.5 };
    expect(at(cancelled, 500).status).toBe('in_progress');
    expect(at(cancelled, 620)).toMatchObject({
      status: 'cancelling',
      cancellingAtMs: T0 + 600,
      ranFraction: 0.5,
    });
    expect(at(cancelled, 650)).toMatchObject({
      status: 'cancelled',
      cancelledAtMs: T0 + 650,
      terminal: true,
    });
  });

  it('cancels on request, keeping what ran before the request', () => {
    const completed: BatchOutcome = { status: 'completed' };
    expect(at(completed, 350, T0 + 350)).toMatchObject({ status: 'cancelling', ranFraction: 0.25 });
    expect(at(completed, 10_000, T0 + 350)).toMatchObject({ status: 'cancelled', ranFraction: 0.25 });
    expect(at(completed, 10_000, T0 + 50)).toMatchObject({
      status: 'cancelled',
      ranFraction: 0,
      inProgressAtMs: null,
    });
    expect(at(completed, 10_000, T0 + 1_150)).toMatchObject({
      status: 'cancelled',
      ranFraction: 1,
      finalizingAtMs: T0 + 1_100,
    });
  });

  it('lets a cancel request during validation win over a validation failure', () => {
    const failed: BatchOutcome = { status: 'failed', errors: [] };
    expect(at(failed, 500, T0 + 10)).toMatchObject({ status: 'cancelled', ranFraction: 0 });
  });
});
