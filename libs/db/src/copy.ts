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

/** One field in COPY's text format: `\N` for NULL, the delimiter, line breaks and backslash escaped. */
export function copyTextField(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r\0]/g, (char) => TEXT_FORMAT_ESCAPES[char]!);
}

/**
 * Streams rows into `table` with `COPY ... FROM STDIN` (text format). `table` and `columns` are our own
 * identifiers, never input. Returns the number of rows copied.
 */
export async function copyRows(
  client: pg.ClientBase,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly CopyValue[])[],
): Promise<number> {
  if (rows.length === 0) return 0;
  let text = '';
  for (const row of rows) text += `${row.map(copyTextField).join('\t')}\n`;
  const copy = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from([Buffer.from(text, 'utf8')]), copy);
  return copy.rowCount;
}
