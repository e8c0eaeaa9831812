import { describe, expect, it } from 'vitest';
import { busNaming, retryDelayMs } from '../index.ts';

describe('naming', () => {
  it('leaves names alone without a namespace', () => {
    const naming = busNaming();
    expect(naming.subject('batch.status.changed')).toBe('batch.status.changed');
    expect(naming.stream('BATCH_STATUS')).toBe('BATCH_STATUS');
  });

  it('prefixes subjects and stream names with the namespace', () => {
    const naming = busNaming('t-ab12');
    expect(naming.subject('dlq.>')).toBe('t-ab12.dlq.>');
    expect(naming.plainSubject('t-ab12.batch.finalized')).toBe('batch.finalized');
    expect(naming.stream('DLQ')).toBe('T_AB12_DLQ');
  });

  it('refuses a namespace that is not one subject token', () => {
    expect(() => busNaming('a.b')).toThrow(expect.objectContaining({ code: 'BUS_OPTIONS_INVALID' }));
    expect(() => busNaming('a b')).toThrow();
  });
});

describe('retryDelayMs', () => {
  it('grows with the delivery count and caps at the last delay', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => retryDelayMs(n))).toEqual([
      1_000, 2_000, 5_000, 15_000, 30_000, 30_000, 30_000,
    ]);
    expect(retryDelayMs(3, [10, 20])).toBe(20);
  });
});
