import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './api-error.ts';
import { TokenVerifier } from './auth.ts';
import { RateLimiter } from './rate-limit.ts';
import { type RequestContext, requestContextOf } from './request-context.ts';

export interface AdminGuardOptions {
  /** ADMIN_TOKENS (may act) and ADMIN_READONLY_TOKENS (may only read). */
  operatorTokens: readonly string[];
  readerTokens: readonly string[];
  /** Requests per token (and, unauthenticated, per address) in a sliding window. */
  rateLimit: { limit: number; windowMs: number };
  /** Clock of the rate limiter (tests). */
  now?: () => number;
}

/** Who may use the admin API, and how often: bearer tokens and the rate limit. */
export class AdminGuard {
  private readonly verifier: TokenVerifier;
  private readonly limiter: RateLimiter;

  constructor(options: AdminGuardOptions) {
    this.verifier = new TokenVerifier(options.operatorTokens, options.readerTokens);
    this.limiter = new RateLimiter(options.rateLimit.limit, options.rateLimit.windowMs, options.now);
  }

  /** False when no token is configured: every request is refused. */
  get configured(): boolean {
    return this.verifier.configured;
  }

  /**
   * Authenticates and rate-limits an admin request, and sets its context (so that its outcome is audited);
   * throws the 401 or 429 answer.
   */
  authenticate(request: FastifyRequest, reply: FastifyReply): RequestContext {
    const context = requestContextOf(request);
    request.monitorContext = context;
    const verdict = this.verifier.verify(request.headers.authorization);
    if (typeof verdict === 'string') {
      // Failed attempts are limited per address, so tokens cannot be guessed at speed.
      const decision = this.limiter.take(`address:${request.ip}`);
      if (!decision.allowed) throw this.tooManyRequests(decision.retryAfterMs);
      throw new ApiError(
        401,
        'unauthorized',
        verdict === 'none_configured'
          ? 'the admin API accepts no token until ADMIN_TOKENS is set'
          : 'a valid bearer token is required (Authorization: Bearer <token>)',
        null,
        { 'www-authenticate': 'Bearer realm="batchline-monitor"' },
      );
    }
    context.principal = verdict;
    const decision = this.limiter.take(`token:${verdict.actor}`);
    reply.header('x-ratelimit-limit', String(this.limiter.limit));
    reply.header('x-ratelimit-remaining', String(decision.remaining));
    if (!decision.allowed) throw this.tooManyRequests(decision.retryAfterMs);
    return context;
  }

  private tooManyRequests(retryAfterMs: number): ApiError {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new ApiError(
      429,
      'rate_limited',
      `more than ${this.limiter.limit} requests in ${this.limiter.windowMs / 1000} s; retry after ${seconds} s`,
      null,
      { 'retry-after': String(seconds) },
    );
  }
}

/** Acting needs an operator's token; a reader's is refused. */
export function requireOperator(context: RequestContext): void {
  if (context.principal?.role !== 'operator') {
    throw new ApiError(403, 'forbidden', 'this token may only read; acting needs one of ADMIN_TOKENS');
  }
}
