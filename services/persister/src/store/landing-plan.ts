import { copyTextField } from '@batchline/db';
import type { RequestId, RowValue } from '@batchline/domain';
import type { ShippedRecord } from '@batchline/events';
import { COLUMN_TYPES, type ColumnType, type JobType, type TargetColumn } from '@batchline/job-types';

/**
 * How a job type's rows land, worked out once per job type: the target's columns in COPY order (the id columns,
 * then the value columns a record ships), an encoder per column into COPY's text format, and the key. Every
 * identifier comes quoted from the compiled job type; values only ever travel as COPY data or bind parameters.
 */
export interface LandingPlan {
  readonly jobType: JobType;
  /** Id columns then value columns: the order of every prepared row's fields. */
  readonly columns: readonly TargetColumn[];
  /** Value columns per row; rows of one value column travel flat. */
  readonly rowWidth: number;
  /** Positions in `columns` of `results.key`, in key order. */
  readonly keyPositions: readonly number[];
}

/** A chunk that no version of the fetcher could have sent for this job type: it can never land. */
export class MalformedChunkError extends Error {
  readonly code = 'malformed_chunk';
  override readonly name = 'MalformedChunkError';
}

/** One row ready to land: the COPY text of its target columns, and what its key is read from. */
export interface PreparedRow {
  customId: string;
  requestId: RequestId | null;
  /** The row as shipped: its value, when the job type has one value column, else its values. */
  shipped: RowValue | RowValue[];
  /** The row's fields in `LandingPlan.columns` order, tab-separated, in COPY's text format. */
  fields: string;
}

/** A chunk's outcomes (first per custom_id, by custom_id) and rows (first per key, by key). */
export interface PreparedChunk {
  results: ShippedRecord[];
  rows: PreparedRow[];
}

const plans = new WeakMap<JobType, LandingPlan>();

export function landingPlan(jobType: JobType): LandingPlan {
  let plan = plans.get(jobType);
  if (!plan) {
    const { idColumns, valueColumns, key } = jobType.target;
    const columns = [...idColumns, ...valueColumns];
    for (const column of columns) {
      // The declaration schema allows only these; checked again because the type is written into DDL-like SQL.
      if (!COLUMN_TYPES.includes(column.type)) throw new Error(`unsupported column type ${column.type}`);
    }
    plan = {
      jobType,
      columns,
      rowWidth: valueColumns.length,
      keyPositions: key.map((name) => columns.findIndex((column) => column.name === name)),
    };
    plans.set(jobType, plan);
  }
  return plan;
}

/** One value in COPY's text format for a column of `type`, or null when the value cannot go into it. */
type Encode = (value: RowValue) => string | null;

const REAL_MAX = 3.4028234663852886e38;
const integerIn =
  (min: number, max: number): Encode =>
  (value) =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max
      ? String(value)
      : null;
/** A float4 text Postgres accepts: a number too small for real is written as the 0 real would round it to. */
const realText = (value: number): string | null =>
  !Number.isFinite(value) || Math.abs(value) > REAL_MAX
    ? null
    : value !== 0 && Math.fround(value) === 0
      ? '0'
      : String(value);
const doubleText = (value: number): string | null => (Number.isFinite(value) ? String(value) : null);
/** `{1,2.5,-3e-7}`: numbers need no quoting inside an array literal, nor any COPY escape. */
const vectorOf =
  (element: (value: number) => string | null): Encode =>
  (value) => {
    if (!Array.isArray(value)) return null;
    let text = '{';
    for (let i = 0; i < value.length; i += 1) {
      const item = value[i];
      const itemText = typeof item === 'number' ? element(item) : null;
      if (itemText === null) return null;
      text += i === 0 ? itemText : `,${itemText}`;
    }
    return `${text}}`;
  };

/** Postgres refuses `\u0000` in jsonb text; like NUL in text, it becomes U+FFFD instead of failing the chunk forever. */
function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('\0', '\uFFFD');
  if (Array.isArray(value)) return value.map(withoutNul);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)]));
  }
  return value;
}

const ENCODERS: Readonly<Record<ColumnType, Encode>> = {
  bigint: integerIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
  integer: integerIn(-2_147_483_648, 2_147_483_647),
  smallint: integerIn(-32_768, 32_767),
  'double precision': (value) => (typeof value === 'number' ? doubleText(value) : null),
  real: (value) => (typeof value === 'number' ? realText(value) : null),
  numeric: (value) => (typeof value === 'number' ? doubleText(value) : null),
  boolean: (value) => (typeof value === 'boolean' ? (value ? 't' : 'f') : null),
  // Text takes any scalar as written; the answer's text lands verbatim (COPY escapes it, nothing else reads it).
  text: (value) =>
    typeof value === 'string'
      ? copyTextField(value)
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : null,
  // jsonb travels as its JSON text.
  jsonb: (value) => {
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value !== 'string') return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return null;
    }
    return copyTextField(value.includes('\\u0000') ? JSON.stringify(withoutNul(parsed)) : value);
  },
  'real[]': vectorOf(realText),
  'double precision[]': vectorOf(doubleText),
};

const NULL_FIELD = '\\N';

const describe = (record: ShippedRecord, row: number | null): string =>
  `record ${JSON.stringify(record.customId)}${row === null ? '' : ` row ${row}`}`;

/** The field of one value, or `MalformedChunkError` naming where it came from. */
function fieldOf(
  column: TargetColumn,
  value: RowValue | undefined,
  record: ShippedRecord,
  row: number | null,
): string {
  if (value === null || value === undefined) {
    if (column.inKey) {
      throw new MalformedChunkError(`${describe(record, row)}: key column ${column.name} has no value`);
    }
    return NULL_FIELD;
  }
  const text = ENCODERS[column.type](value);
  if (text === null) {
    throw new MalformedChunkError(
      `${describe(record, row)}: ${JSON.stringify(value).slice(0, 80)} is not a value of column ${column.name} (${column.type})`,
    );
  }
  return text;
}

/** Value `index` of a shipped row: a row of one value column is shipped as the value itself. */
const valueAt = (shipped: RowValue | RowValue[], rowWidth: number, index: number): RowValue =>
  rowWidth === 1 ? (shipped as RowValue) : (shipped as RowValue[])[index]!;

function compareValues(a: RowValue, b: RowValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders rows by the key, reading id columns from the request id and the rest from the shipped row. */
function keyOrder({
  columns,
  rowWidth,
  keyPositions,
}: LandingPlan): (a: PreparedRow, b: PreparedRow) => number {
  const idCount = columns.length - rowWidth;
  const keyValue = (row: PreparedRow, position: number): RowValue =>
    position < idCount ? row.requestId : valueAt(row.shipped, rowWidth, position - idCount);
  return (a, b) => {
    for (const position of keyPositions) {
      const order = compareValues(keyValue(a, position), keyValue(b, position));
      if (order !== 0) return order;
    }
    return 0;
  };
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A chunk's outcomes and rows, checked against the job type: every row of a succeeded record has the job type's
 * width and values its columns can hold (else `MalformedChunkError`, naming the record, row and column). The
 * fetcher dedupes custom_ids already; first wins here too, and for rows with the same key, so that one bad chunk
 * cannot violate its own keys; one global order (custom_id, key) makes concurrent chunks take row locks alike.
 */
export function prepareChunk(plan: LandingPlan, records: readonly ShippedRecord[]): PreparedChunk {
  const byCustomId = new Map<string, ShippedRecord>();
  for (const record of records) if (!byCustomId.has(record.customId)) byCustomId.set(record.customId, record);
  const results = [...byCustomId.values()].sort((a, b) => compareStrings(a.customId, b.customId));

  const { columns, rowWidth } = plan;
  const idCount = columns.length - rowWidth;
  const rows: PreparedRow[] = [];
  for (const record of results) {
    if (record.outcome !== 'succeeded' || record.rows.length === 0) continue;
    const { customId, requestId } = record;
    let idFields = '';
    for (let c = 0; c < idCount; c += 1) {
      idFields += `${c === 0 ? '' : '\t'}${fieldOf(columns[c]!, requestId, record, null)}`;
    }
    for (let r = 0; r < record.rows.length; r += 1) {
      const shipped = record.rows[r]!;
      if (rowWidth !== 1 && (!Array.isArray(shipped) || shipped.length !== rowWidth)) {
        throw new MalformedChunkError(
          `${describe(record, r)}: a row of ${rowWidth} values expected, got ${JSON.stringify(shipped).slice(0, 80)}`,
        );
      }
      let fields = idFields;
      for (let v = 0; v < rowWidth; v += 1) {
        const field = fieldOf(columns[idCount + v]!, valueAt(shipped, rowWidth, v), record, r);
        fields += idCount === 0 && v === 0 ? field : `\t${field}`;
      }
      rows.push({ customId, requestId, shipped, fields });
    }
  }
  const order = keyOrder(plan);
  rows.sort(order);
  // Sorted (stably), rows with one key are adjacent, the first landed first.
  let kept = 0;
  for (const row of rows) {
    const previous = rows[kept - 1];
    if (previous && order(previous, row) === 0) continue;
    rows[kept++] = row;
  }
  rows.length = kept;
  return { results, rows };
}
