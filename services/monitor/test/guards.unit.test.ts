import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/api-error.ts';
import { TokenVerifier } from '../src/auth.ts';
import { RateLimiter } from '../src/rate-limit.ts';
import {
  MonitoringQuerySchema,
  PrioritySchema,
  parseBatchLogId,
  parseBody,
  parseQuery,
} from '../src/validation.ts';

describe('TokenVerifier', () => {
  const verifier = new TokenVerifier(['op-token-one', 'op-token-two'], ['reader-token']);

  it('labels each token by list and position, never by its value', () => {
    expect(verifier.verify('Bearer op-token-two')).toEqual({ actor: 'operator#2', role: 'operator' });
    expect(verifier.verify('bearer reader-token')).toEqual({ actor: 'reader#1', role: 'reader' });
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['op-token-one', 'malformed'],
    ['Basic b3A6dG9rZW4=', 'malformed'],
    ['Bearer', 'malformed'],
    ['Bearer op-token-one extra', 'malformed'],
    ['Bearer op-token-on', 'unknown'],
    ['Bearer op-token-one1', 'unknown'],
    ['Bearer OP-TOKEN-ONE', 'unknown'],
  ])('refuses %j as %s', (header, failure) => {
    expect(verifier.verify(header)).toBe(failure);
  });

  it('refuses everything when no token is configured', () => {
    expect(new TokenVerifier([], []).verify('Bearer anything')).toBe('none_configured');
  });
});

describe('RateLimiter', () => {
  it('allows `limit` requests per window per key and says when the next one may come', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(3, 60_000, () => now);
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 2 });
    now += 10_000;
    limiter.take('a');
    now += 10_000;
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 0 });
    expect(limiter.take('b')).toEqual({ allowed: true, remaining: 2 });
    now += 5_000;
    expect(limiter.take('a')).toEqual({ allowed: false, remaining: 0, retryAfterMs: 35_000 });
    // The oldest request leaves the window 60 s after it was made.
    now = 1_000_000 + 60_001;
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 0 });
  });
});

describe('validation', () => {
  const problem = (run: () => unknown): ApiError => {
    try {
      run();
    } catch (error) {
      if (error instanceof ApiError) return error;
      throw error;
    }
    throw new Error('expected an ApiError');
  };

  it('applies the contract defaults', () => {
    expect(parseQuery(MonitoringQuerySchema, {})).toEqual({
      timeRange: '24h',
      status: null,
      jobType: null,
      includeDetails: false,
      page: 1,
      limit: 50,
    });
    expect(
      parseQuery(MonitoringQuerySchema, {
        timeRange: '7d',
        status: 'failed',
        includeDetails: '1',
        page: '3',
        limit: '100',
      }),
    ).toMatchObject({ timeRange: '7d', status: 'failed', includeDetails: true, page: 3, limit: 100 });
  });

  it.each([
    [{ timeRange: '2d' }, 'timeRange', 'invalid_parameter'],
    [{ status: '1 OR 1=1' }, 'status', 'invalid_parameter'],
    [{ jobType: "x'; DROP TABLE batch_jobs_vp_logs; --" }, 'jobType', 'invalid_parameter'],
    [{ includeDetails: 'yes' }, 'includeDetails', 'invalid_parameter'],
    [{ limit: '0' }, 'limit', 'invalid_parameter'],
    [{ limit: '101' }, 'limit', 'invalid_parameter'],
    [{ limit: '1e9' }, 'limit', 'invalid_parameter'],
    [{ limit: '-1' }, 'limit', 'invalid_parameter'],
    [{ limit: 'abc' }, 'limit', 'invalid_parameter'],
    [{ page: '0' }, 'page', 'invalid_parameter'],
    [{ page: '1000000000000' }, 'page', 'invalid_parameter'],
    [{ limit: ['100', '5'] }, 'limit', 'invalid_parameter'],
    [{ sort: 'created_at desc' }, 'sort', 'unknown_parameter'],
  ])('refuses %j naming %s', (query, field, code) => {
    const error = problem(() => parseQuery(MonitoringQuerySchema, query));
    expect(error.status).toBe(400);
    expect(error.body).toEqual({
      success: false,
      error: { code, field, message: expect.stringContaining(field) },
    });
  });

  it('rejects unknown body fields instead of dropping them, and names them', () => {
    const error = problem(() => parseBody(PrioritySchema, { priority: 5, status: 2 }));
    expect(error.body.error).toMatchObject({ code: 'unknown_field', field: 'status' });
    expect(problem(() => parseBody(PrioritySchema, { priority: 5.5 })).field).toBe('priority');
    expect(problem(() => parseBody(PrioritySchema, { priority: '5' })).field).toBe('priority');
    expect(problem(() => parseBody(PrioritySchema, [1])).code).toBe('invalid_body');
    expect(parseBody(PrioritySchema, { priority: -100 })).toEqual({ priority: -100 });
  });

  it.each(['0', '-1', 'abc', '1.5', '9999999999999999', '1 OR 1=1', '01'])(
    'refuses batch log id %j',
    (id) => {
      expect(problem(() => parseBatchLogId({ id })).field).toBe('id');
    },
  );
});
