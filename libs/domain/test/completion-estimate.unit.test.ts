import { describe, expect, it } from 'vitest';
import { type CompletionEstimateInput, estimateCompletion } from '../index.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A batch submitted at T0, checked now, with nothing known unless a test says so. */
const input = (over: Partial<CompletionEstimateInput>): CompletionEstimateInput => ({
  now: T0 + HOUR,
  createdAt: T0,
  startedAt: null,
  providerTerminalAt: null,
  counts: null,
  observedAt: null,
  historyMs: [],
  ...over,
});

describe('estimateCompletion', () => {
  it('says the results are landing now once the provider is terminal, whatever else is known', () => {
    expect(
      estimateCompletion(
        input({
          providerTerminalAt: T0 + 30 * MIN,
          startedAt: T0,
          counts: { total: 100, done: 10 },
          observedAt: T0 + 10 * MIN,
          historyMs: [10 * HOUR],
        }),
      ),
    ).toEqual({ at: T0 + HOUR, basis: 'landing' });
  });

  it('extrapolates the rate from the provider start to the last check', () => {
    // 25 of 100 done in 10 min → 30 min more after the check at T0 + 15 min.
    expect(
      estimateCompletion(
        input({
          now: T0 + 20 * MIN,
          startedAt: T0 + 5 * MIN,
          counts: { total: 100, done: 25 },
          observedAt: T0 + 15 * MIN,
        }),
      ),
    ).toEqual({ at: T0 + 45 * MIN, basis: 'progress' });
  });

  it('moves a stalled batch later: a check that finds no new progress lowers the rate', () => {
    const stalled = (observedAt: number) =>
      estimateCompletion(
        input({ now: observedAt, startedAt: T0, counts: { total: 100, done: 50 }, observedAt }),
      )!.at;
    expect(stalled(T0 + 10 * MIN)).toBe(T0 + 20 * MIN);
    expect(stalled(T0 + 20 * MIN)).toBe(T0 + 40 * MIN);
    expect(stalled(T0 + 20 * MIN)).toBeGreaterThan(stalled(T0 + 10 * MIN));
  });

  it('never estimates before now', () => {
    // The last check projected T0 + 20 min; it is T0 + 1 h.
    expect(
      estimateCompletion(
        input({ startedAt: T0, counts: { total: 100, done: 50 }, observedAt: T0 + 10 * MIN }),
      ),
    ).toEqual({ at: T0 + HOUR, basis: 'progress' });
  });

  it('says "now" when every request is done and the provider is finishing (or counts overshoot)', () => {
    for (const done of [100, 120]) {
      expect(
        estimateCompletion(input({ startedAt: T0, counts: { total: 100, done }, observedAt: T0 + HOUR })),
      ).toEqual({ at: T0 + HOUR, basis: 'progress' });
    }
  });

  it('falls back to the history while the counts do not move yet', () => {
    const history = [2 * HOUR, 4 * HOUR, 6 * HOUR];
    const cases: Partial<CompletionEstimateInput>[] = [
      {}, // not started, no counts
      { startedAt: T0, counts: { total: 100, done: 0 }, observedAt: T0 + 30 * MIN }, // nothing done
      { startedAt: T0, counts: { total: 0, done: 0 }, observedAt: T0 + 30 * MIN }, // no total reported
      { startedAt: null, counts: { total: 100, done: 10 }, observedAt: T0 + 30 * MIN }, // start unknown
      { startedAt: T0 + 30 * MIN, counts: { total: 100, done: 10 }, observedAt: T0 + 30 * MIN }, // no time yet
      { startedAt: T0, counts: { total: 100, done: 10 }, observedAt: null },
    ];
    for (const known of cases) {
      expect(estimateCompletion(input({ ...known, historyMs: history }))).toEqual({
        at: T0 + 4 * HOUR,
        basis: 'history',
      });
    }
  });

  it('keeps only the past durations this batch can still match (longer than it has taken so far)', () => {
    const history = [30 * MIN, 45 * MIN, 2 * HOUR, 3 * HOUR];
    // At 1 h the 30 and 45 min batches are out of reach: median of 2 h and 3 h.
    expect(estimateCompletion(input({ historyMs: history }))).toEqual({
      at: T0 + 2.5 * HOUR,
      basis: 'history',
    });
    // At 10 min every one still counts: median of the four.
    expect(estimateCompletion(input({ now: T0 + 10 * MIN, historyMs: history }))).toEqual({
      at: T0 + 82.5 * MIN,
      basis: 'history',
    });
    // A duration equal to the elapsed time is already matched, so it is out.
    expect(estimateCompletion(input({ historyMs: [HOUR, 5 * HOUR] }))).toEqual({
      at: T0 + 5 * HOUR,
      basis: 'history',
    });
  });

  it('has no estimate without history, or when the batch is slower than every past one', () => {
    expect(estimateCompletion(input({}))).toBeNull();
    expect(estimateCompletion(input({ historyMs: [10 * MIN, 20 * MIN] }))).toBeNull();
  });

  it('does not reorder the caller’s history', () => {
    const history = [3 * HOUR, 2 * HOUR, 5 * HOUR];
    estimateCompletion(input({ historyMs: history }));
    expect(history).toEqual([3 * HOUR, 2 * HOUR, 5 * HOUR]);
  });

  it('is monotone in the work done: more done at the same check never estimates later (property)', () => {
    let seed = 11;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      const total = 1 + Math.floor(random() * 50_000);
      const a = 1 + Math.floor(random() * total);
      const b = Math.min(total, a + Math.floor(random() * total));
      const observedAt = T0 + 1 + Math.floor(random() * 24 * HOUR);
      const now = observedAt + Math.floor(random() * HOUR);
      const at = (done: number) =>
        estimateCompletion(input({ now, startedAt: T0, counts: { total, done }, observedAt }))!.at;
      expect(at(b)).toBeLessThanOrEqual(at(a));
      expect(at(a)).toBeGreaterThanOrEqual(now);
    }
  });
});
