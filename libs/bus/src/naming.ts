import { BusConnectionError } from './errors.ts';

/**
 * Maps plain subject and stream names to the names on the server. An empty namespace leaves them as they are
 * (production); a namespace `ns` gives `ns.<subject>` and `NS_<STREAM>`, so tests sharing one server stay apart.
 */
export interface BusNaming {
  readonly namespace: string;
  /** Plain subject → wire subject. */
  subject(plain: string): string;
  /** Wire subject → plain subject (the inverse of `subject`). */
  plainSubject(wire: string): string;
  /** Plain stream name → stream name on the server. */
  stream(plain: string): string;
}

const NAMESPACE = /^[A-Za-z0-9_-]*$/;

export function busNaming(namespace = ''): BusNaming {
  if (!NAMESPACE.test(namespace)) {
    throw new BusConnectionError(
      'BUS_OPTIONS_INVALID',
      `bus namespace must be letters, digits, '_' or '-' (one subject token), got ${JSON.stringify(namespace)}`,
    );
  }
  if (namespace === '') {
    return { namespace, subject: (s) => s, plainSubject: (s) => s, stream: (s) => s };
  }
  const subjectPrefix = `${namespace}.`;
  const streamPrefix = `${namespace.toUpperCase().replace(/-/g, '_')}_`;
  return {
    namespace,
    subject: (plain) => `${subjectPrefix}${plain}`,
    plainSubject: (wire) => (wire.startsWith(subjectPrefix) ? wire.slice(subjectPrefix.length) : wire),
    stream: (plain) => `${streamPrefix}${plain}`,
  };
}
