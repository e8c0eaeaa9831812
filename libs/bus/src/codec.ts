import { EventValidationError } from './errors.ts';
import { type EventOf, EventSchemas, type Subject } from './events.ts';

/** True when `subject` (without namespace) is one of the events with a schema. */
export function isEventSubject(subject: string): subject is Subject {
  return Object.hasOwn(EventSchemas, subject);
}

/** Checks `value` against the subject's schema and returns the parsed event; throws `EventValidationError`. */
export function validateEvent<S extends Subject>(subject: S, value: unknown): EventOf<S> {
  const result = EventSchemas[subject].safeParse(value);
  if (result.success) return result.data as EventOf<S>;
  const [first, ...rest] = result.error.issues;
  const field = first && first.path.length > 0 ? first.path.map(String).join('.') : '(root)';
  const more = rest.length > 0 ? ` (and ${rest.length} more issue${rest.length > 1 ? 's' : ''})` : '';
  throw new EventValidationError(subject, field, `${first?.message ?? 'invalid'}${more}`);
}

/** Validates and JSON-encodes an event for the wire. */
export function encodeEvent<S extends Subject>(subject: S, event: EventOf<S>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(validateEvent(subject, event)));
}

/** Parses and validates a wire body; throws `EventValidationError` for non-JSON or schema violations. */
export function decodeEvent<S extends Subject>(subject: S, data: Uint8Array): EventOf<S> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new EventValidationError(subject, '(body)', 'not UTF-8 JSON');
  }
  return validateEvent(subject, value);
}
