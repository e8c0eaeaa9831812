/** OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error answered to the client with OpenAI's status and body shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly errorCode: string | null = null,
    readonly type: string = errorTypeForStatus(status),
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The JSON answered (OpenAI's shape here; the Anthropic routes answer their own). */
  get body(): object {
    const body: OpenAIErrorBody = {
      error: { message: this.message, type: this.type, param: this.param, code: this.errorCode },
    };
    return body;
  }
}

export function errorTypeForStatus(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export const notFound = (what: 'File' | 'Batch', id: string, param: string): ApiError =>
  new ApiError(404, `No such ${what} object: ${id}`, param);

export const badRequest = (
  message: string,
  param: string | null = null,
  code: string | null = null,
): ApiError => new ApiError(400, message, param, code);

/** An error answered with Anthropic's status and body shape: `{"type":"error","error":{"type","message"}}`. */
export class AnthropicApiError extends ApiError {
  constructor(status: number, message: string, anthropicType = anthropicErrorType(status)) {
    super(status, message, null, null, anthropicType);
  }

  override get body(): object {
    return { type: 'error', error: { type: this.type, message: this.message } };
  }
}

export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}
