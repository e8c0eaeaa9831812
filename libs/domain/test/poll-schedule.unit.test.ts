import { describe, expect, it } from 'vitest';
import { pollDelayMs } from '../index.ts';

describe('pollDelayMs', () => {
  const schedule = [60_000, 120_000, 300_000];

  it('follows the schedule and repeats the last delay', () => {
    expect([0, 1, 2, 3, 10, 1000].map((attempt) => pollDelayMs(schedule, attempt, 0.5))).toEqual([
      60_000, 120_000, 300_000, 300_000, 300_000, 300_000,
    ]);
  });

  it('keeps every jittered delay within ±10 % of the step (property over many draws)', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 5000; i++) {
      const attempt = Math.floor(random() * 8);
      const base = schedule[Math.min(attempt, schedule.length - 1)]!;
      const delay = pollDelayMs(schedule, attempt, random());
      expect(delay).toBeGreaterThanOrEqual(base * 0.9);
      expect(delay).toBeLessThanOrEqual(base * 1.1);
    }
  });

  it('is monotonic in the jitter draw', () => {
    expect(pollDelayMs(schedule, 0, 0)).toBeLessThan(pollDelayMs(schedule, 0, 0.99));
  });

  it('rejects nonsense', () => {
    expect(() => pollDelayMs([], 0)).toThrow(RangeError);
    expect(() => pollDelayMs(schedule, -1)).toThrow(RangeError);
    expect(() => pollDelayMs(schedule, 1.5)).toThrow(RangeError);
    expect(() => pollDelayMs(schedule, 0, 1)).toThrow(RangeError);
  });
});
