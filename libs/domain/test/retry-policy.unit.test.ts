import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  codeMatches,
  isRetryableCode,
  nextRetryRound,
  type RetryPolicy,
  resolveRetryPolicy,
  retryCodeProblem,
  selectRetryRequests,
} from '../index.ts';

const policy: RetryPolicy = {
  codes: ['http_429', 'http_5xx', 'batch_expired', 'missing_result'],
  maxRounds: 3,
  delayMs: 60_000,
};

describe('codeMatches', () => {
  it('matches a code exactly', () => {
    expect(codeMatches('batch_expired', 'batch_expired')).toBe(true);
    expect(codeMatches('batch_expired', 'batch_expire')).toBe(false);
    expect(codeMatches('http_429', 'http_4290')).toBe(false);
  });

  it("matches trailing x's digit for digit, and nothing else", () => {
    expect(['http_500', 'http_503', 'http_599'].every((code) => codeMatches('http_5xx', code))).toBe(true);
    expect(
      ['http_5', 'http_50', 'http_5000', 'http_429', 'http_5ab', 'http_5xx_'].map((code) =>
        codeMatches('http_5xx', code),
      ),
    ).toEqual([false, false, false, false, false, false]);
    expect(codeMatches('http_42x', 'http_429')).toBe(true);
    expect(codeMatches('http_42x', 'http_439')).toBe(false);
  });

  it("treats x's not after a digit as letters (max_tokens is no pattern)", () => {
    expect(codeMatches('max', 'ma1')).toBe(false);
    expect(codeMatches('http_xxx', 'http_500')).toBe(false);
  });

  it('matches every three-digit status of its hundred (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 999 }), (status) => {
        expect(codeMatches('http_5xx', `http_${status}`)).toBe(status >= 500 && status <= 599);
      }),
    );
  });
});

describe('isRetryableCode', () => {
  it('follows the policy and never retries invalid_custom_id or a missing code', () => {
    expect(isRetryableCode(policy, 'http_502')).toBe(true);
    expect(isRetryableCode(policy, 'batch_expired')).toBe(true);
    expect(isRetryableCode(policy, 'invalid_content')).toBe(false);
    expect(isRetryableCode(policy, null)).toBe(false);
    expect(isRetryableCode({ codes: ['invalid_custom_id'] }, 'invalid_custom_id')).toBe(false);
  });
});

describe('retryCodeProblem', () => {
  it('accepts codes and patterns, refuses invalid_custom_id and malformed codes with the reason', () => {
    expect(retryCodeProblem('http_5xx')).toBeNull();
    expect(retryCodeProblem('invalid_content')).toBeNull();
    expect(retryCodeProblem('invalid_custom_id')).toMatch(/never retryable/);
    expect(retryCodeProblem('HTTP_500')).toMatch(/not an error code/);
    expect(retryCodeProblem('')).toMatch(/not an error code/);
  });
});

describe('resolveRetryPolicy', () => {
  it('lays a declaration over the default field by field', () => {
    expect(resolveRetryPolicy(policy, undefined)).toEqual(policy);
    expect(resolveRetryPolicy(policy, { maxRounds: 0 })).toEqual({ ...policy, maxRounds: 0 });
    expect(resolveRetryPolicy(policy, { codes: ['http_429'], delayMs: 1000 })).toEqual({
      codes: ['http_429'],
      maxRounds: 3,
      delayMs: 1000,
    });
  });
});

describe('nextRetryRound', () => {
  it('numbers rounds after the parts and stops when the rounds are spent', () => {
    expect(nextRetryRound(policy, 0)).toBe(1);
    expect(nextRetryRound(policy, 2)).toBe(3);
    expect(nextRetryRound(policy, 3)).toBeNull();
    expect(nextRetryRound({ maxRounds: 0 }, 0)).toBeNull();
  });
});

describe('selectRetryRequests', () => {
  const failed = [
    { customId: 'r-1', errorCode: 'http_500' },
    { customId: 'r-2', errorCode: 'invalid_content' },
    { customId: 'r-3', errorCode: 'batch_expired' },
    { customId: 'r-4', errorCode: 'http_429' },
    { customId: 'r-5', errorCode: 'invalid_custom_id' },
    { customId: 'r-6', errorCode: null },
    { customId: 'r-1', errorCode: 'http_503' },
  ];

  it('selects each retryable failure once', () => {
    expect(selectRetryRequests(policy, failed, new Set(), new Set())).toEqual(['r-1', 'r-3', 'r-4']);
  });

  it('leaves out requests that succeeded elsewhere in the job or are out in a live round', () => {
    expect(selectRetryRequests(policy, failed, new Set(['r-1']), new Set(['r-4']))).toEqual(['r-3']);
  });

  it('narrows to a manual filter passed as the codes', () => {
    expect(selectRetryRequests({ codes: ['http_4xx'] }, failed, new Set(), new Set())).toEqual(['r-4']);
    expect(selectRetryRequests({ codes: ['invalid_content'] }, failed, new Set(), new Set())).toEqual([
      'r-2',
    ]);
  });
});
