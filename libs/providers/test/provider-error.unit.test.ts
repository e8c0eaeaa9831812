import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { classifyOpenAIError } from '../src/openai-provider.ts';
import { parseDurationMs, retryAfterMsFromHeaders } from '../src/provider-error.ts';

describe('parseDurationMs', () => {
  it.each([
    ['6m0s', 360_000],
    ['12ms', 12],
    ['1.5s', 1_500],
    ['1h2m3s', 3_723_000],
    ['250us', 1],
    [' 20s ', 20_000],
  ])('%s → %d ms', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each(['', '5', 'soon', '6m0', 's6'])('rejects %j', (text) => expect(parseDurationMs(text)).toBeNull());
});

describe('retryAfterMsFromHeaders', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('prefers retry-after-ms, then retry-after, then the rate-limit reset headers', () => {
    expect(retryAfterMsFromHeaders({ 'retry-after-ms': '1500', 'retry-after': '9' }, now)).toBe(1_500);
    expect(retryAfterMsFromHeaders({ 'Retry-After': '7' }, now)).toBe(7_000);
    expect(retryAfterMsFromHeaders({ 'x-ratelimit-reset-requests': '6m0s' }, now)).toBe(360_000);
    expect(retryAfterMsFromHeaders({ 'x-ratelimit-reset-tokens': '12ms' }, now)).toBe(12);
    expect(
      retryAfterMsFromHeaders({ 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '5m' }, now),
    ).toBe(1_000);
  });

  it('reads an HTTP date relative to now', () => {
    const headers = new Headers({ 'retry-after': new Date(now + 30_000).toUTCString() });
    expect(retryAfterMsFromHeaders(headers, now)).toBe(30_000);
    expect(retryAfterMsFromHeaders({ 'retry-after': new Date(now - 5_000).toUTCString() }, now)).toBe(0);
  });

  it('is null without a usable header', () => {
    expect(retryAfterMsFromHeaders({}, now)).toBeNull();
    expect(retryAfterMsFromHeaders({ 'retry-after': 'later', 'retry-after-ms': '-1' }, now)).toBeNull();
  });
});

describe('classifyOpenAIError', () => {
  const apiError = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    APIError.generate(status, { error: body }, undefined, new Headers(headers));

  it.each([
    [429, {}, 'rate_limited'],
    [429, { code: 'insufficient_quota', type: 'insufficient_quota' }, 'quota'],
    [401, { code: 'invalid_api_key' }, 'auth'],
    [403, {}, 'auth'],
    [404, {}, 'not_found'],
    [408, {}, 'timeout'],
    [409, {}, 'unavailable'],
    [400, {}, 'bad_request'],
    [422, {}, 'bad_request'],
    [500, {}, 'unavailable'],
    [503, { code: 'slow_down' }, 'unavailable'],
    [418, {}, 'unknown'],
  ])('%d %j → %s', (status, body, kind) => {
    const error = classifyOpenAIError(apiError(status, { message: 'x', ...body }), 'getBatch');
    expect(error).toMatchObject({ code: 'PROVIDER_ERROR', kind, status, operation: 'getBatch' });
  });

  it('carries the retry delay, provider code and request id', () => {
    const error = classifyOpenAIError(
      apiError(
        429,
        { message: 'slow down', code: 'rate_limit_exceeded' },
        { 'retry-after': '3', 'x-request-id': 'req_1' },
      ),
      'getBatch',
    );
    expect(error).toMatchObject({
      retryAfterMs: 3_000,
      providerCode: 'rate_limit_exceeded',
      requestId: 'req_1',
    });
    expect(error.transient).toBe(true);
  });

  it('classifies transport failures', () => {
    expect(classifyOpenAIError(new APIConnectionTimeoutError(), 'getBatch').kind).toBe('timeout');
    expect(classifyOpenAIError(new APIConnectionError({ message: 'refused' }), 'getBatch').kind).toBe(
      'unavailable',
    );
    expect(classifyOpenAIError(new Error('bug'), 'getBatch')).toMatchObject({
      kind: 'unknown',
      transient: false,
    });
  });

  it('keeps the API key out of the message', () => {
    const key = 'sk-live-secret-value-1234567890';
    const error = classifyOpenAIError(
      apiError(401, { message: `Incorrect API key provided: ${key}` }),
      'getBatch',
      key,
    );
    expect(error.message).not.toContain(key);
    expect(error.message).toContain('[REDACTED]');
    const shortKey = 'k-123456';
    expect(classifyOpenAIError(new Error(`bad key ${shortKey}`), 'getBatch', shortKey).message).not.toContain(
      shortKey,
    );
  });
});
