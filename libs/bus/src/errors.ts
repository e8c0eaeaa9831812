/**
 * Errors callers tell apart by class or `code`. Messages never carry event values or connection credentials.
 */

/** Thrown by a handler when a retry may succeed (a timeout, a 5xx, a lock): the runner naks with a growing delay. */
export class TransientError extends Error {
  readonly code = 'TRANSIENT';
  override readonly name = 'TransientError';
  /** When the failing party said how long to wait (e.g. `Retry-After`), at least this long before redelivery. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Thrown by a handler when no retry can succeed: the runner dead-letters the message at once. */
export class PoisonMessageError extends Error {
  readonly code = 'POISON_MESSAGE';
  override readonly name = 'PoisonMessageError';
}

/** The server's streams or consumers cannot be brought to the declared topology (e.g. an immutable setting differs). */
export class TopologyError extends Error {
  readonly code = 'TOPOLOGY_CONFLICT';
  override readonly name = 'TopologyError';
}

/** The bus could not be set up: an unreachable server or a bad option. */
export class BusConnectionError extends Error {
  override readonly name = 'BusConnectionError';

  constructor(
    readonly code: 'BUS_UNREACHABLE' | 'BUS_OPTIONS_INVALID',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
