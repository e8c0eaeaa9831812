/**
 * An answer other than success, in the admin API's one error shape:
 * `{"success": false, "error": {"code", "message", "field"}}` (contract §7). `field` names the parameter or body
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

  get body(): { success: false; error: Record<string, unknown> } {
    return {
      success: false,
      error: { code: this.code, message: this.message, field: this.field, ...this.extra },
    };
  }
}

export const invalid = (field: string, message: string, code = 'invalid_parameter'): ApiError =>
  new ApiError(400, code, message, field);
