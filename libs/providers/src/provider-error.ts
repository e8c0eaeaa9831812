import { redactSecretsIn } from '@batchline/logging';

/**
 * - `rate_limited`: 429 for pace; wait `retryAfterMs` when known.
 * - `quota`: 429 `insufficient_quota` — retrying will not help until billing changes.
 * - `unavailable`: 5xx, 409, connection failures, a download cut short.
 * - `timeout`: no answer (or no byte of a download) in time; 408.
 * - `auth`: 401/403 — the key is wrong or lacks access.
 * - `not_found`: 404 — the provider does not know the batch or file (or the base URL is wrong).
 * - `bad_request`: 400/413/422 — our request is wrong; retrying the same request will not help.
 */
export type ProviderErrorKind =
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'auth'
  | 'not_found'
  | 'bad_request'
  | 'quota'
  | 'unknown';

const TRANSIENT: ReadonlySet<ProviderErrorKind> = new Set(['rate_limited', 'unavailable', 'timeout']);

/** A classified failure of a provider call. Its message never carries the API key. */
export class ProviderError extends Error {
  readonly code = 'PROVIDER_ERROR' as const;
  readonly kind: ProviderErrorKind;
  /** HTTP status, when the provider answered. */
  readonly status: number | null;
  /** How long the provider asked us to wait, from its headers. */
  readonly retryAfterMs: number | null;
  /** The provider's own error code (e.g. `insufficient_quota`, `invalid_api_key`). */
  readonly providerCode: string | null;
  /** The provider's request id, for support tickets. */
  readonly requestId: string | null;
  /** Which provider operation failed, e.g. `getBatch`. */
  readonly operation: string;

  constructor(options: {
    kind: ProviderErrorKind;
    message: string;
    operation: string;
    status?: number | null;
    retryAfterMs?: number | null;
    providerCode?: string | null;
    requestId?: string | null;
  }) {
    super(options.message);
    this.name = 'ProviderError';
    this.kind = options.kind;
    this.operation = options.operation;
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.providerCode = options.providerCode ?? null;
    this.requestId = options.requestId ?? null;
  }

  /** Worth retrying later with the same request. */
  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go-style duration as OpenAI's `x-ratelimit-reset-*` headers send it (`6m0s`, `12ms`, `1.5s`). */
export function parseDurationMs(text: string): number | null {
  const value = text.trim();
  if (value.length === 0) return null;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let match = DURATION_PART.exec(value); match; match = DURATION_PART.exec(value)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = DURATION_PART.lastIndex;
  }
  return consumed === value.length ? Math.ceil(total) : null;
}

/** Reads one header from a fetch `Headers` or a plain record (case-insensitively). */
type HeaderSource = { get(name: string): string | null } | Record<string, string | undefined>;

function header(headers: HeaderSource, name: string): string | null {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name);
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? null : (record[key] ?? null);
}

/**
 * How long the provider asks us to wait, in milliseconds: `retry-after-ms`, else `retry-after` (seconds or an
 * HTTP date), else `x-ratelimit-reset-requests`, else `x-ratelimit-reset-tokens` (duration strings). Null when
 * none is usable.
 */
export function retryAfterMsFromHeaders(headers: HeaderSource, now = Date.now()): number | null {
  const ms = Number.parseFloat(header(headers, 'retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);

  const retryAfter = header(headers, 'retry-after')?.trim();
  if (retryAfter) {
    if (/^\d+(\.\d+)?$/.test(retryAfter)) return Math.ceil(Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }

  return (
    parseDurationMs(header(headers, 'x-ratelimit-reset-requests') ?? '') ??
    parseDurationMs(header(headers, 'x-ratelimit-reset-tokens') ?? '')
  );
}

/** The kind of an HTTP error status, the same for every provider. */
export function kindForHttpStatus(status: number, quotaExhausted = false): ProviderErrorKind {
  if (status === 429) return quotaExhausted ? 'quota' : 'rate_limited';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not_found';
  if (status === 408) return 'timeout';
  // 529 is Anthropic's "overloaded".
  if (status === 409 || status >= 500) return 'unavailable';
  if (status === 400 || status === 413 || status === 422) return 'bad_request';
  return 'unknown';
}

/** An error's message with the API key (and anything shaped like a secret) masked, at most 500 characters. */
export function describeError(err: unknown, apiKey: string | null): string {
  const text = err instanceof Error ? err.message : String(err);
  const withoutKey = apiKey ? text.split(apiKey).join('[REDACTED]') : text;
  return redactSecretsIn(withoutKey).slice(0, 500);
}
