import type { ColumnType } from './declaration.ts';
import type { RowValue } from './job-type.ts';

/**
 * One answer value made into what its column takes, checked so that Postgres accepts it: an answer that would make
 * the insert fail is an invalid answer, never a stuck batch.
 */
export type ValueCheck = { ok: true; value: RowValue } | { ok: false; problem: string };

const INTEGER_RANGES: Partial<Record<ColumnType, readonly [number, number]>> = {
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  integer: [-2_147_483_648, 2_147_483_647],
  smallint: [-32_768, 32_767],
};
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether Postgres can store the text: no NUL character, no unpaired UTF-16 surrogate. */
function storableText(text: string): boolean {
  return !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text);
}

function storableJson(value: unknown): boolean {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.every(storableJson);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).every(([key, inner]) => storableText(key) && storableJson(inner));
  }
  return true;
}

/** Postgres refuses a `real` that overflows to infinity or a nonzero one that underflows to zero. */
const fitsReal = (n: number): boolean => {
  const single = Math.fround(n);
  return Number.isFinite(single) && (single !== 0 || n === 0);
};

const shownValue = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
};

export function columnValue(type: ColumnType, value: unknown): ValueCheck {
  const wrong = (expected: string): ValueCheck => ({
    ok: false,
    problem: `must be ${expected}, got ${shownValue(value)}`,
  });
  switch (type) {
    case 'bigint':
    case 'integer':
    case 'smallint': {
      const [min, max] = INTEGER_RANGES[type]!;
      if (typeof value !== 'number' || !Number.isInteger(value)) return wrong(`an integer (${type})`);
      if (value < min || value > max) return wrong(`an integer from ${min} to ${max} (${type})`);
      return { ok: true, value };
    }
    case 'double precision':
    case 'numeric':
      return typeof value === 'number' && Number.isFinite(value) ? { ok: true, value } : wrong('a number');
    case 'real':
      return typeof value === 'number' && Number.isFinite(value) && fitsReal(value)
        ? { ok: true, value }
        : wrong('a number within the range of real');
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : wrong('true or false');
    case 'text':
      if (typeof value !== 'string') return wrong('a string');
      return storableText(value)
        ? { ok: true, value }
        : wrong('text without NUL characters or broken UTF-16');
    case 'jsonb':
      return storableJson(value)
        ? { ok: true, value: JSON.stringify(value) }
        : wrong('JSON without NUL characters or broken UTF-16');
    case 'real[]':
    case 'double precision[]': {
      const fits = type === 'real[]' ? fitsReal : () => true;
      if (!Array.isArray(value)) return wrong('an array of numbers');
      const bad = value.findIndex((n) => typeof n !== 'number' || !Number.isFinite(n) || !fits(n));
      if (bad >= 0) {
        return {
          ok: false,
          problem: `element ${bad} must be a number fit for ${type}, got ${shownValue(value[bad])}`,
        };
      }
      return { ok: true, value: value as number[] };
    }
  }
}
