import type { ValidateFunction } from 'ajv';
import { columnValue } from './column-value.ts';
import type { ColumnType } from './declaration.ts';
import type { AnswerCheck, RowValue } from './job-type.ts';
import { pointerOf, resolvePointer } from './json-pointer.ts';
import { schemaViolation } from './response-schema.ts';

/** Checking one answer and taking its rows: the plan is made once per job type, the checks run per result line. */

const INVALID_CONTENT = 'invalid_content';
export const DEFAULT_REFERENCE_ERROR = 'unknown_reference';

/** A value column of a chat job type: a pointer into the answer or into the `each` element. */
export interface AnswerColumnPlan {
  name: string;
  type: ColumnType;
  inKey: boolean;
  referenceErrorCode: string | null;
  source: { kind: 'answer' | 'item'; tokens: readonly string[] };
}

/** A value column of an embeddings job type: they all take the vector (`$embedding`). */
export interface EmbeddingColumnPlan {
  name: string;
  type: ColumnType;
}

const invalid = (message: string): AnswerCheck => ({ ok: false, code: INVALID_CONTENT, message });
const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const MAX_LISTED = 10;

/** The content as the model gave it: JSON text (chat), or an object already (Anthropic's tool input). */
function parseContent(content: unknown): { ok: true; answer: unknown } | { ok: false; check: AnswerCheck } {
  if (typeof content === 'string') {
    try {
      return { ok: true, answer: JSON.parse(content) };
    } catch {
      return { ok: false, check: invalid('message content is not JSON') };
    }
  }
  if (content !== null && typeof content === 'object') return { ok: true, answer: content };
  return {
    ok: false,
    check: invalid(
      content === undefined || content === null
        ? 'the answer has no content'
        : 'message content is not a string',
    ),
  };
}

/** Rows whose key columns repeat a row before them collapse into it: the first stays, as in the table. */
function rowDeduplicator(columns: readonly AnswerColumnPlan[]): (row: RowValue[]) => boolean {
  const keyIndexes = columns.flatMap((column, index) => (column.inKey ? [index] : []));
  const seen = new Set<string>();
  return (row) => {
    const key = JSON.stringify(keyIndexes.map((index) => row[index]));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

export function answerChecker(plan: {
  validate: ValidateFunction;
  each: { pointer: string; tokens: readonly string[] } | null;
  columns: readonly AnswerColumnPlan[];
  catalogueTable: string | null;
}): (content: unknown, isCatalogueKey: (key: string) => boolean) => AnswerCheck {
  const { validate, each, columns, catalogueTable } = plan;
  return (content, isCatalogueKey) => {
    const parsed = parseContent(content);
    if (!parsed.ok) return parsed.check;
    const answer = parsed.answer;
    if (!validate(answer)) {
      return invalid(schemaViolation(validate.errors));
    }
    let items: readonly unknown[] = [answer];
    if (each !== null) {
      const list = resolvePointer(answer, each.tokens);
      if (!Array.isArray(list))
        return invalid(`${each.pointer} is ${list === undefined ? 'missing' : 'not an array'}`);
      items = list;
    }
    const isNew = rowDeduplicator(columns);
    const rows: RowValue[][] = [];
    // Per referencing column, its values not in the catalogue, in order of appearance.
    const unknown = new Map<AnswerColumnPlan, Set<string>>();
    for (const [index, item] of items.entries()) {
      const row: RowValue[] = [];
      for (const column of columns) {
        const { source } = column;
        const raw = resolvePointer(source.kind === 'item' ? item : answer, source.tokens);
        const location =
          source.kind === 'item'
            ? `${each!.pointer}/${index}${pointerOf(source.tokens)}`
            : pointerOf(source.tokens);
        if (raw === undefined || raw === null) {
          if (column.inKey)
            return invalid(`${location} is missing, and column ${column.name} is part of the key`);
          row.push(null);
          continue;
        }
        const value = columnValue(column.type, raw);
        if (!value.ok) return invalid(`${location} (column ${column.name}) ${value.problem}`);
        if (column.referenceErrorCode !== null && !isCatalogueKey(String(value.value))) {
          const values = unknown.get(column) ?? new Set<string>();
          values.add(String(value.value));
          unknown.set(column, values);
        }
        row.push(value.value);
      }
      if (isNew(row)) rows.push(row);
    }
    for (const [column, values] of unknown) {
      const listed = [...values].slice(0, MAX_LISTED).map((value) => value.slice(0, 60));
      return {
        ok: false,
        code: column.referenceErrorCode!,
        message: `${column.name} values not in ${catalogueTable}: ${listed.join(', ')}${values.size > MAX_LISTED ? ', ...' : ''}`,
      };
    }
    return { ok: true, rows };
  };
}

export function embeddingChecker(plan: {
  dimensions: number | null;
  columns: readonly EmbeddingColumnPlan[];
}): (body: unknown) => AnswerCheck {
  const { dimensions, columns } = plan;
  return (body) => {
    const data = isObject(body) && Array.isArray(body.data) ? body.data : null;
    if (data === null) return invalid('the response body has no "data" list');
    const first = data[0];
    const vector = isObject(first) ? first.embedding : undefined;
    if (!Array.isArray(vector) || vector.length === 0)
      return invalid('data[0].embedding is not a list of numbers');
    if (dimensions !== null && vector.length !== dimensions) {
      return invalid(`data[0].embedding has ${vector.length} dimensions, not the ${dimensions} requested`);
    }
    const row: RowValue[] = [];
    for (const column of columns) {
      const value = columnValue(column.type, vector);
      if (!value.ok) return invalid(`data[0].embedding (column ${column.name}) ${value.problem}`);
      row.push(value.value);
    }
    return { ok: true, rows: [row] };
  };
}
