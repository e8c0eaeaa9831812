/** An event body that does not match its subject's schema (or is not JSON). */
export class EventValidationError extends Error {
  readonly code = 'EVENT_INVALID';
  override readonly name = 'EventValidationError';

  constructor(
    readonly subject: string,
    /** Dotted path of the first offending field; `(body)` when the body is not JSON, `(root)` for the whole object. */
    readonly field: string,
    detail: string,
  ) {
    super(`invalid ${subject} event: ${field}: ${detail}`);
  }
}
