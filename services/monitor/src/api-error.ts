import type { Logger } from '@batchline/logging';
import type { Failure } from './api-schema.ts';
import type { AuditOutcome } from './store/audit.ts';

/**
 * An answer other than success, in the admin API's one error shape:
 * `{"success": false, "error": {"code", "message", "field"}}` (docs/interface.md §7). `field` names the parameter or body
 * field at fault, or is null.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
    /** Extra fields of `error`, e.g. the batch a retry already created. */
    readonly extra: Readonly<Record<string, unknown>> = {},
    /** What went wrong underneath, for the log (never sent). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }

  get body(): Failure {
    return {
      success: false,
      error: { code: this.code, message: this.message, field: this.field, ...this.extra },
    };
  }
}

export const invalid = (field: string, message: string, code = 'invalid_parameter'): ApiError =>
  new ApiError(400, code, message, field);

/** How an error answer is recorded in the audit log. */
export function auditOutcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) return 'denied';
  if (status === 429) return 'rate_limited';
  if (status === 400 || status === 413 || status === 415) return 'invalid';
  return 'failed';
}

const FASTIFY_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large', message: 'the body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'send the body as application/json',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'invalid_body',
    message: 'the body is empty: send {} or no Content-Type',
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_body', message: 'the body is not valid JSON' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    code: 'invalid_body',
    message: 'Content-Length does not match the body',
  },
  FST_ERR_BAD_URL: { status: 400, code: 'invalid_url', message: 'the URL is malformed' },
};

/** Any error as an answer: our own as they are, the framework's client errors named, everything else a 500. */
export function toApiError(error: unknown, log: Logger): ApiError {
  if (error instanceof ApiError) return error;
  const { code, statusCode } = (error ?? {}) as { code?: string; statusCode?: number };
  const known = code === undefined ? undefined : FASTIFY_ERRORS[code];
  if (known) {
    const field = known.status === 400 && code !== 'FST_ERR_BAD_URL' ? '(body)' : null;
    return new ApiError(known.status, known.code, known.message, field);
  }
  if (error instanceof SyntaxError && statusCode === 400) {
    return new ApiError(400, 'invalid_body', 'the body is not valid JSON', '(body)');
  }
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new ApiError(statusCode, 'bad_request', 'the request cannot be processed');
  }
  log.error({ err: error }, 'admin API request failed');
  return new ApiError(500, 'internal_error', 'the monitor failed to answer; its log says why');
}
