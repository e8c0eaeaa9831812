import type { RequestId } from './job-type.ts';

/**
 * A job type's request ids: positive integers when its `$id` columns are integer columns, strings of 1–64 of
 * `[A-Za-z0-9_.-]` otherwise (contract §8). The custom id is `<prefix>-<id>`.
 */
export type RequestIdKind = 'integer' | 'string';

const INTEGER_ID = /^[1-9][0-9]{0,15}$/;
const STRING_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface RequestIds {
  customIdFor(id: RequestId): string;
  parseCustomId(customId: string): RequestId | null;
  parseInputId(value: unknown): RequestId | null;
}

/** `largestId`: the largest integer id every `$id` column can hold (an `integer` column stops at 2^31-1). */
export function requestIds(kind: RequestIdKind, prefix: string, largestId: number): RequestIds {
  const head = `${prefix}-`;
  const isIntegerId = (value: unknown): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= largestId;
  const parseInteger = (text: string): number | null => {
    if (!INTEGER_ID.test(text)) return null;
    const id = Number(text);
    return isIntegerId(id) ? id : null;
  };
  return {
    customIdFor: (id) => `${head}${id}`,
    parseCustomId(customId) {
      if (!customId.startsWith(head)) return null;
      const text = customId.slice(head.length);
      if (kind === 'integer') return parseInteger(text);
      return STRING_ID.test(text) ? text : null;
    },
    parseInputId(value) {
      if (kind === 'integer') return isIntegerId(value) ? value : null;
      // A string id given as a number (`"doc_id": 17`) is the string "17", as in its custom id.
      if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
      return typeof value === 'string' && STRING_ID.test(value) ? value : null;
    },
  };
}
