import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | null;

const TEXT_FORMAT_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  // Postgres text cannot hold NUL at all; storing U+FFFD beats a chunk that fails forever.
  '\0': '\uFFFD',
};
const NEEDS_ESCAPE = /[\\\t\n\r\0]/;
const TO_ESCAPE = /[\\\t\n\r\0]/g;

/** One field in COPY's text format: `\N` for NULL, the delimiter, line breaks and backslash escaped. */
export function copyTextField(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  // Most values need no escape; testing first spares a replace per field.
  return NEEDS_ESCAPE.test(value) ? value.replace(TO_ESCAPE, (char) => TEXT_FORMAT_ESCAPES[char]!) : value;
}

/** Rows in COPY's text format, one line each (fields through `copyTextField`). */
export function copyText(rows: Iterable<readonly CopyValue[]>): string {
  let text = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i += 1)
      text += i === 0 ? copyTextField(row[i]!) : `\t${copyTextField(row[i]!)}`;
    text += '\n';
  }
  return text;
}

/**
 * Streams rows, already in COPY's text format (see `copyText`), into `table` with `COPY ... FROM STDIN`.
 * `table` and `columns` are our own identifiers, never input. Returns the number of rows copied.
 */
export async function copyTextInto(
  client: pg.ClientBase,
  table: string,
  columns: readonly string[],
  text: string,
): Promise<number> {
  if (text.length === 0) return 0;
  const copy = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from([Buffer.from(text, 'utf8')]), copy);
  return copy.rowCount;
}

/** Streams rows into `table` with `COPY ... FROM STDIN` (text format). Returns the number of rows copied. */
export function copyRows(
  client: pg.ClientBase,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<number> {
  return copyTextInto(client, table, columns, copyText(rows));
}
