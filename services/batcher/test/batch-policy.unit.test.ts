import { describe, expect, it } from 'vitest';
import {
  type BatchPolicy,
  dueTrigger,
  nextBatchDue,
  parsePolicyOverrides,
  policyOf,
  requestsThatFit,
} from '../src/batch-policy.ts';
import { lastFirings, nextFiring, parseCreateInterval } from '../src/create-interval.ts';

const at = (iso: string) => new Date(iso);
const every5m: BatchPolicy = {
  maxRequests: 100,
  minSize: 10,
  interval: { kind: 'every', ms: 5 * 60_000 },
  dailyBudgetUsd: null,
};

describe('create interval', () => {
  it('reads a duration or a cron expression, and names what is wrong otherwise', () => {
    expect(parseCreateInterval('5m')).toEqual({ interval: { kind: 'every', ms: 300_000 } });
    expect(parseCreateInterval('*/5 * * * *')).toEqual({
      interval: { kind: 'cron', expression: '*/5 * * * *' },
    });
    expect(parseCreateInterval('every five')).toEqual({
      error: expect.stringContaining('neither a duration'),
    });
    expect(parseCreateInterval('99 * * * *')).toEqual({ error: expect.stringContaining('not a valid cron') });
  });

  it('gives the same firings for a duration and the equivalent cron expression', () => {
    const now = at('2026-12-06T02:13:20Z');
    const cron = parseCreateInterval('*/5 * * * *');
    if (!('interval' in cron)) throw new Error('cron');
    const expected = [at('2026-12-06T02:10:00Z'), at('2026-12-06T02:05:00Z')];
    expect(lastFirings(every5m.interval, now)).toEqual(expected);
    expect(lastFirings(cron.interval, now)).toEqual(expected);
    expect(lastFirings(cron.interval, at('2026-12-06T02:10:00Z'))[0]).toEqual(at('2026-12-06T02:10:00Z'));
    expect(nextFiring(cron.interval, now)).toEqual(at('2026-12-06T02:15:00Z'));
    expect(nextFiring(every5m.interval, now)).toEqual(at('2026-12-06T02:15:00Z'));
  });
});

describe('dueTrigger', () => {
  const now = at('2026-12-06T02:13:20Z');
  const group = (pending: number, oldest: string) => ({ pending, oldestEnqueuedAt: at(oldest) });

  it('is nothing for an empty group', () => {
    expect(dueTrigger(group(0, '2026-12-06T00:00:00Z'), every5m, now, null)).toBeNull();
  });
  it('is size as soon as the group holds maxRequests, before any firing', () => {
    expect(dueTrigger(group(100, '2026-12-06T02:13:00Z'), every5m, now, null)).toBe('size');
  });
  it('waits for a firing after the oldest request came', () => {
    expect(dueTrigger(group(50, '2026-12-06T02:10:00Z'), every5m, now, null)).toBeNull();
    expect(dueTrigger(group(50, '2026-12-06T02:09:59Z'), every5m, now, null)).toBe('interval');
  });
  it('never goes below minSize on the interval unless the oldest waited two firings', () => {
    expect(dueTrigger(group(9, '2026-12-06T02:06:00Z'), every5m, now, null)).toBeNull();
    expect(dueTrigger(group(9, '2026-12-06T02:04:59Z'), every5m, now, null)).toBe('overdue');
    expect(dueTrigger(group(10, '2026-12-06T02:06:00Z'), every5m, now, null)).toBe('interval');
  });
  it('is on demand for requests enqueued before the flush, whatever their number', () => {
    expect(dueTrigger(group(1, '2026-12-06T02:13:00Z'), every5m, now, at('2026-12-06T02:13:10Z'))).toBe(
      'on_demand',
    );
    expect(dueTrigger(group(1, '2026-12-06T02:13:15Z'), every5m, now, at('2026-12-06T02:13:10Z'))).toBeNull();
  });
});

describe('requestsThatFit', () => {
  const queue = [
    { lineBytes: 99, estimatedTokens: 10 },
    { lineBytes: 99, estimatedTokens: 10 },
    { lineBytes: 99, estimatedTokens: 10 },
  ];
  it('stops at the request limit, the byte limit (newlines counted) and the token room', () => {
    expect(requestsThatFit(queue, { maxRequests: 2, maxBytes: 1e9, maxTokens: 1e9 })).toBe(2);
    expect(requestsThatFit(queue, { maxRequests: 9, maxBytes: 299, maxTokens: 1e9 })).toBe(2);
    expect(requestsThatFit(queue, { maxRequests: 9, maxBytes: 300, maxTokens: 1e9 })).toBe(3);
    expect(requestsThatFit(queue, { maxRequests: 9, maxBytes: 1e9, maxTokens: 25 })).toBe(2);
  });
  it('is 0 when not even the first request fits the token room: the group waits', () => {
    expect(requestsThatFit(queue, { maxRequests: 9, maxBytes: 1e9, maxTokens: 9 })).toBe(0);
  });
});

describe('policy overrides', () => {
  it('lays a job type’s overrides over the defaults', () => {
    const parsed = parsePolicyOverrides(
      '{"sentiment": {"minSize": 3, "interval": "*/10 * * * *", "dailyBudgetUsd": 5}}',
    );
    if ('error' in parsed) throw new Error(parsed.error);
    const of = policyOf(every5m, parsed.overrides);
    expect(of('sentiment')).toEqual({
      maxRequests: 100,
      minSize: 3,
      interval: { kind: 'cron', expression: '*/10 * * * *' },
      dailyBudgetUsd: 5,
    });
    expect(of('other')).toEqual(every5m);
  });
  it('names the job type and field of a bad override', () => {
    expect(parsePolicyOverrides('{"sentiment": {"minSize": 0}}')).toEqual({
      error: expect.stringContaining('sentiment.minSize'),
    });
    expect(parsePolicyOverrides('{"sentiment": {"interval": "soon"}}')).toEqual({
      error: expect.stringContaining('sentiment.interval'),
    });
    expect(parsePolicyOverrides('{"sentiment": {"maxSize": 3}}')).toEqual({
      error: expect.stringContaining('sentiment'),
    });
    expect(parsePolicyOverrides('nope')).toEqual({ error: 'is not JSON' });
  });
});

describe('nextBatchDue', () => {
  const now = at('2026-12-06T02:13:20Z');
  it('is now when due, the next firing at min size, else the second firing after the oldest request', () => {
    expect(nextBatchDue({ pending: 100, oldestEnqueuedAt: now }, every5m, now, null)).toEqual(now);
    expect(
      nextBatchDue({ pending: 10, oldestEnqueuedAt: at('2026-12-06T02:11:00Z') }, every5m, now, null),
    ).toEqual(at('2026-12-06T02:15:00Z'));
    expect(
      nextBatchDue({ pending: 2, oldestEnqueuedAt: at('2026-12-06T02:11:00Z') }, every5m, now, null),
    ).toEqual(at('2026-12-06T02:20:00Z'));
  });
});
