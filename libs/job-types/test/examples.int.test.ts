import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CatalogueEntry,
  type ExistingTable,
  type JobType,
  loadJobTypes,
  targetTableDdl,
  targetTableProblems,
} from '../index.ts';

/**
 * The examples against a real Postgres: the catalogue seed, the target tables' DDL (twice: it must be safe to run
 * again), rows of checked answers inserted as the persister will, and the created tables found fitting.
 */
const EXAMPLES = fileURLToPath(new URL('../../../examples/job-types/', import.meta.url));
const jobTypes = loadJobTypes(EXAMPLES);

/** The table as Postgres describes it: `format_type` of each column, the column lists of its unique indexes. */
async function existingTable(client: pg.Client, jobType: JobType): Promise<ExistingTable> {
  const table = jobType.target.quoted;
  const columns = await client.query<{ name: string; type: string }>(
    `SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  const keys = await client.query<{ columns: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisunique
      GROUP BY i.indexrelid`,
    [table],
  );
  return {
    columns: new Map(columns.rows.map((row) => [row.name, row.type])),
    uniqueKeys: keys.rows.map((row) => row.columns),
  };
}

/** Inserts rows as the persister does: id columns from the request id, then the value columns, then the batch. */
async function insertRows(client: pg.Client, jobType: JobType, id: number | string, rows: unknown[][]) {
  const { target } = jobType;
  const names = [...target.idColumns, ...target.valueColumns].map((column) => column.quoted);
  const placeholders = [...names, '"batch_log_id"'].map((_, index) => `$${index + 1}`).join(', ');
  for (const row of rows) {
    await client.query(
      `INSERT INTO ${target.quoted} (${[...names, '"batch_log_id"'].join(', ')}) VALUES (${placeholders})
       ON CONFLICT (${target.key.map((name) => `"${name}"`).join(', ')}) DO NOTHING`,
      [...target.idColumns.map(() => id), ...row, 7],
    );
  }
}

describe('examples/job-types in Postgres', () => {
  let database: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('job_type_examples');
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(readFileSync(`${EXAMPLES}sentiment_labels.sql`, 'utf8'));
    for (const jobType of jobTypes.all().filter((t) => t.source !== 'built-in')) {
      for (let run = 0; run < 2; run += 1) {
        for (const statement of targetTableDdl(jobType.target)) await client.query(statement);
      }
    }
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('creates target tables that fit their job types', async () => {
    for (const name of ['review_sentiment', 'review_embeddings']) {
      const jobType = jobTypes.named(name);
      expect(targetTableProblems(jobType.target, await existingTable(client, jobType))).toEqual([]);
    }
  });

  it('finds a table that does not fit', async () => {
    await client.query('CREATE TABLE "wrong_sentiments" (review_id integer PRIMARY KEY, label text)');
    const sentiment = jobTypes.named('review_sentiment');
    const wrong = { ...sentiment.target, name: 'wrong_sentiments', quoted: '"wrong_sentiments"' };
    const problems = targetTableProblems(wrong, await existingTable(client, { ...sentiment, target: wrong }));
    expect(problems).toEqual([
      'Column review_id of table wrong_sentiments is integer, but the job type needs bigint.',
      'Table wrong_sentiments has no column score (double precision).',
      'Table wrong_sentiments has no column batch_log_id (bigint).',
      'Table wrong_sentiments has no column created_at (timestamp with time zone).',
    ]);
  });

  it('reads the seeded catalogue into the prompt, and lands checked sentiment rows once', async () => {
    const sentiment = jobTypes.named('review_sentiment');
    const { rows } = await client.query<CatalogueEntry>(sentiment.catalogue!.selectSql);
    expect(rows.map((row) => row.key)).toEqual(['mixed', 'negative', 'neutral', 'positive']);
    const line = sentiment.requestLine(
      'openai',
      { id: 1001, fields: { text: 'Fine.' } },
      { model: 'm', catalogue: rows },
    );
    expect(JSON.stringify(line)).toContain(
      'neutral: Neither pleased nor displeased: facts, questions, a plain description.',
    );
    const keys = new Set(rows.map((row) => row.key));
    for (const [id, answer] of [
      [1001, '{"label":"positive","score":0.9}'],
      [1001, '{"label":"negative","score":0.1}'],
      [1002, '{"label":"mixed","score":0.5}'],
    ] as const) {
      const check = sentiment.checkAnswer(answer, (key) => keys.has(key));
      if (!check.ok) throw new Error(check.message);
      await insertRows(client, sentiment, id, check.rows);
    }
    const landed = await client.query(
      'SELECT review_id, label, score FROM review_sentiments ORDER BY review_id',
    );
    expect(landed.rows).toEqual([
      { review_id: '1001', label: 'positive', score: 0.9 },
      { review_id: '1002', label: 'mixed', score: 0.5 },
    ]);
  });

  it('lands embeddings as real[] under string ids', async () => {
    const embeddings = jobTypes.named('review_embeddings');
    const vector = [0.5, -0.25, 0.125, 0, 1, -1, 3.4e38, 1.5e-45];
    const check = embeddings.checkEmbedding({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: vector }],
    });
    if (!check.ok) throw new Error(check.message);
    await insertRows(client, embeddings, 'rev-1004.v2', check.rows);
    const landed = await client.query<{ doc_id: string; embedding: number[] }>(
      'SELECT doc_id, embedding FROM review_embeddings',
    );
    expect(landed.rows).toHaveLength(1);
    expect(landed.rows[0]!.doc_id).toBe('rev-1004.v2');
    expect(landed.rows[0]!.embedding.slice(0, 6)).toEqual([0.5, -0.25, 0.125, 0, 1, -1]);
  });
});
