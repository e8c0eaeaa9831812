import type { ValidateFunction } from 'ajv';
import { columnConverter, ValueProblem } from './column-value.ts';
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

/**
 * The key of a row, for collapsing rows whose key repeats within one answer (the first stays, as in the table):
 * the value itself for one scalar key column (specific_viewpoint's viewpoint id), else the key values' JSON.
 */
function rowKey(columns: readonly AnswerColumnPlan[]): (row: readonly RowValue[]) => unknown {
  const keyIndexes = columns.flatMap((column, index) => (column.inKey ? [index] : []));
  const [only] = keyIndexes;
  if (keyIndexes.length === 1 && !columns[only!]!.type.endsWith('[]')) return (row) => row[only!];
  return (row) => JSON.stringify(keyIndexes.map((index) => row[index]));
}

/** Where a column's value sits in the answer, for messages. */
function locationOf(each: { pointer: string } | null, column: AnswerColumnPlan, index: number): string {
  const inner = pointerOf(column.source.tokens);
  return column.source.kind === 'item' ? `${each!.pointer}/${index}${inner}` : inner;
}

function unknownReferences(
  column: AnswerColumnPlan,
  values: ReadonlySet<string>,
  catalogueTable: string | null,
): AnswerCheck {
  const listed = [...values].slice(0, MAX_LISTED).map((value) => value.slice(0, 60));
  return {
    ok: false,
    code: column.referenceErrorCode!,
    message: `${column.name} values not in ${catalogueTable}: ${listed.join(', ')}${values.size > MAX_LISTED ? ', ...' : ''}`,
  };
}

export function answerChecker(plan: {
  validate: ValidateFunction;
  each: { pointer: string; tokens: readonly string[] } | null;
  columns: readonly AnswerColumnPlan[];
  catalogueTable: string | null;
}): (content: unknown, isCatalogueKey: (key: string) => boolean) => AnswerCheck {
  const { validate, each, columns, catalogueTable } = plan;
  const converters = columns.map((column) => columnConverter(column.type));
  const keyOf = rowKey(columns);

  // Runs per result line: no allocation beyond the rows unless something is wrong.
  function check(content: unknown, isCatalogueKey: (key: string) => boolean): AnswerCheck {
    const parsed = parseContent(content);
    if (!parsed.ok) return parsed.check;
    const answer = parsed.answer;
    if (!validate(answer)) return invalid(schemaViolation(validate.errors));
    let items: readonly unknown[] = [answer];
    if (each !== null) {
      const list = resolvePointer(answer, each.tokens);
      if (!Array.isArray(list)) {
        return invalid(`${each.pointer} is ${list === undefined ? 'missing' : 'not an array'}`);
      }
      items = list;
    }
    const rows: RowValue[][] = [];
    const seen = items.length > 1 ? new Set<unknown>() : null;
    // The first referencing column with values not in the catalogue, and those values in order of appearance.
    let unknown: { column: AnswerColumnPlan; values: Set<string> } | null = null;
    for (let index = 0; index < items.length; index += 1) {
      const item = items[index];
      const row: RowValue[] = new Array(columns.length);
      for (let at = 0; at < columns.length; at += 1) {
        const column = columns[at]!;
        const raw = resolvePointer(column.source.kind === 'item' ? item : answer, column.source.tokens);
        if (raw === undefined || raw === null) {
          if (column.inKey) {
            return invalid(
              `${locationOf(each, column, index)} is missing, and column ${column.name} is part of the key`,
            );
          }
          row[at] = null;
          continue;
        }
        const value = converters[at]!(raw);
        if (value instanceof ValueProblem) {
          return invalid(`${locationOf(each, column, index)} (column ${column.name}) ${value.problem}`);
        }
        if (column.referenceErrorCode !== null && !isCatalogueKey(String(value))) {
          if (unknown === null) unknown = { column, values: new Set() };
          if (unknown.column === column) unknown.values.add(String(value));
        }
        row[at] = value;
      }
      if (seen === null) {
        rows.push(row);
      } else {
        const key = keyOf(row);
        if (!seen.has(key)) {
          seen.add(key);
          rows.push(row);
        }
      }
    }
    if (unknown !== null) return unknownReferences(unknown.column, unknown.values, catalogueTable);
    return { ok: true, rows };
  }

  return (content, isCatalogueKey) => {
    try {
      return check(content, isCatalogueKey);
    } catch (error) {
      // An answer nested deeper than the validator's recursion can follow is an invalid answer, not a crash.
      if (error instanceof RangeError) return invalid(`the answer could not be checked: ${error.message}`);
      throw error;
    }
  };
}

export function embeddingChecker(plan: {
  dimensions: number | null;
  columns: readonly EmbeddingColumnPlan[];
}): (body: unknown) => AnswerCheck {
  const { dimensions, columns } = plan;
  const converters = columns.map((column) => columnConverter(column.type));
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
    for (const [at, column] of columns.entries()) {
      const value = converters[at]!(vector);
      if (value instanceof ValueProblem) {
        return invalid(`data[0].embedding (column ${column.name}) ${value.problem}`);
      }
      row.push(value);
    }
    return { ok: true, rows: [row] };
  };
}
