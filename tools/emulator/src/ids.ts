import { createHash, randomBytes } from 'node:crypto';

/** A fresh object id in OpenAI's style: `file-…`, `batch_…`. */
export const randomId = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;

/** A stable id derived from its parts, so that regenerating a result line yields the same ids. */
export const derivedId = (prefix: string, ...parts: string[]): string =>
  `${prefix}${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24)}`;

/** A 32-bit seed derived from a string, for the deterministic shuffle of a batch's execution order. */
export const seedOf = (text: string): number => createHash('sha256').update(text).digest().readUInt32LE(0);
