import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BATCHLINE_TABLES, isBatchlineTable } from '../src/batchline-tables.ts';

const MIGRATIONS = new URL('../../db/migrations/', import.meta.url);

describe("batchline's own tables", () => {
  it('lists every table the migrations create', () => {
    const created = readdirSync(MIGRATIONS)
      .filter((file) => file.endsWith('.sql'))
      .flatMap((file) =>
        [
          ...readFileSync(new URL(file, MIGRATIONS), 'utf8').matchAll(
            /CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?("?[\w.]+"?)/gi,
          ),
        ].map((match) => match[1]!.replaceAll('"', '').replace(/^public\./, '')),
      );
    expect(created.length).toBeGreaterThan(10);
    expect(created.filter((table) => !BATCHLINE_TABLES.has(table))).toEqual([]);
  });

  it('recognises them bare or in public, not in another schema', () => {
    expect(isBatchlineTable('outbox')).toBe(true);
    expect(isBatchlineTable('public.batch_request_results')).toBe(true);
    expect(isBatchlineTable('analytics.outbox')).toBe(false);
    expect(isBatchlineTable('review_sentiments')).toBe(false);
  });
});
