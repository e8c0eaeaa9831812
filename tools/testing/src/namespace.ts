import { randomBytes } from 'node:crypto';

/** A private bus namespace (subject prefix and stream-name prefix) for one test. */
export const testNamespace = (label = 't'): string =>
  `${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}${randomBytes(4).toString('hex')}`;

export const testNatsUrl = (): string => process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
