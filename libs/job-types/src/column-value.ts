import type { ColumnType } from './declaration.ts';
import type { RowValue } from './job-type.ts';

/**
 * One answer value made into what its column takes, checked so that Postgres accepts it: an answer that would make
 * the insert fail is an invalid answer, never a stuck batch. Each column gets its converter once, at compile time;
 * a converter returns the value, or a ValueProblem (no allocation when the value is fine: this runs per answer).
 */
export class ValueProblem {
  constructor(readonly problem: string) {}
}

export type ValueConverter = (value: unknown) => RowValue | ValueProblem;

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

/** Deeper JSON than this is refused: Postgres's jsonb parser (and our own recursion) would run out of stack. */
const MAX_JSON_DEPTH = 200;

function storableJson(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return storableText(value);
  if (value === null || typeof value !== 'object') return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) return value.every((inner) => storableJson(inner, depth + 1));
  return Object.entries(value).every(([key, inner]) => storableText(key) && storableJson(inner, depth + 1));
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

const wrong = (expected: string, value: unknown): ValueProblem =>
  new ValueProblem(`must be ${expected}, got ${shownValue(value)}`);

function integerConverter(type: 'bigint' | 'integer' | 'smallint'): ValueConverter {
  const [min, max] = INTEGER_RANGES[type]!;
  return (value) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) return wrong(`an integer (${type})`, value);
    if (value < min || value > max) return wrong(`an integer from ${min} to ${max} (${type})`, value);
    return value;
  };
}

function vectorConverter(type: 'real[]' | 'double precision[]'): ValueConverter {
  const fits = type === 'real[]' ? fitsReal : () => true;
  return (value) => {
    if (!Array.isArray(value)) return wrong('an array of numbers', value);
    const bad = value.findIndex((n) => typeof n !== 'number' || !Number.isFinite(n) || !fits(n));
    if (bad >= 0) {
      return new ValueProblem(
        `element ${bad} must be a number fit for ${type}, got ${shownValue(value[bad])}`,
      );
    }
    return value as number[];
  };
}

export function columnConverter(type: ColumnType): ValueConverter {
  switch (type) {
    case 'bigint':
    case 'integer':
    case 'smallint':
      return integerConverter(type);
    case 'double precision':
    case 'numeric':
      return (value) =>
        typeof value === 'number' && Number.isFinite(value) ? value : wrong('a number', value);
    case 'real':
      return (value) =>
        typeof value === 'number' && Number.isFinite(value) && fitsReal(value)
          ? value
          : wrong('a number within the range of real', value);
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? value : wrong('true or false', value));
    case 'text':
      return (value) => {
        if (typeof value !== 'string') return wrong('a string', value);
        return storableText(value) ? value : wrong('text without NUL characters or broken UTF-16', value);
      };
    case 'jsonb':
      return (value) =>
        storableJson(value)
          ? JSON.stringify(value)
          : wrong(
              `JSON without NUL characters or broken UTF-16, nested at most ${MAX_JSON_DEPTH} deep`,
              value,
            );
    case 'real[]':
    case 'double precision[]':
      return vectorConverter(type);
  }
}
