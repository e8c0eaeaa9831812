import { randomBytes } from 'node:crypto';

/** W3C trace context, version 00: `00-<trace id: 32 hex>-<parent span id: 16 hex>-<flags: 2 hex>`. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZEROS = /^0+$/;

/** True for a well-formed version-00 traceparent whose ids are not all zeros (the spec's invalid values). */
export function isValidTraceparent(value: string | undefined | null): value is string {
  if (!value) return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && !ALL_ZEROS.test(match[1]!) && !ALL_ZEROS.test(match[2]!);
}

const randomHex = (bytes: number): string => {
  let hex = randomBytes(bytes).toString('hex');
  // An all-zero id is invalid; astronomically unlikely, but cheap to exclude.
  while (ALL_ZEROS.test(hex)) hex = randomBytes(bytes).toString('hex');
  return hex;
};

/** Starts a new, sampled trace. */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/**
 * The traceparent for work caused by `parent`: same trace id and flags, a new span id. Without a valid parent a
 * new trace starts (as the W3C spec asks of a receiver that gets an invalid header).
 */
export function childTraceparent(parent?: string | null): string {
  if (!isValidTraceparent(parent)) return newTraceparent();
  const [, traceId, , flags] = TRACEPARENT.exec(parent)!;
  return `00-${traceId}-${randomHex(8)}-${flags}`;
}
