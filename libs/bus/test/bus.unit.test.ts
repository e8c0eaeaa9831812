import { describe, expect, it } from 'vitest';
import { busNaming, childTraceparent, isValidTraceparent, newTraceparent, retryDelayMs } from '../index.ts';

describe('traceparent', () => {
  it('generates valid version-00 headers with fresh ids', () => {
    const a = newTraceparent();
    const b = newTraceparent();
    expect(a).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(isValidTraceparent(a)).toBe(true);
    expect(a.split('-')[1]).not.toBe(b.split('-')[1]);
  });

  it('rejects malformed and all-zero values', () => {
    for (const bad of [
      undefined,
      '',
      'garbage',
      '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
    ]) {
      expect(isValidTraceparent(bad)).toBe(false);
    }
  });

  it('keeps the trace id and flags of a parent and makes a new span id', () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const child = childTraceparent(parent);
    expect(child).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    expect(child).not.toBe(parent);
    expect(isValidTraceparent(childTraceparent('not a traceparent'))).toBe(true);
    expect(isValidTraceparent(childTraceparent())).toBe(true);
  });
});

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
