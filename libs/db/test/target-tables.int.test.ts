import { builtInJobTypes, compileJobType, type JobType, JobTypeError } from '@batchline/job-types';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTargetTables, type Pool, readExistingTable } from '../index.ts';

/** A small chat job type landing into `table` (contract §8's example, trimmed). */
const sentimentJobType = (name: string, table: string): JobType =>
  compileJobType(
    {
      name,
      input: { id: 'review_id', fields: ['text'] },
      customIdPrefix: 'sent',
      request: {
        endpoint: '/v1/chat/completions',
        messages: [{ role: 'user', content: '{{text}}' }],
        responseSchema: {
          type: 'object',
          additionalProperties: false,
          required: ['label', 'score'],
          properties: { label: { type: 'string' }, score: { type: 'number' } },
        },
      },
      results: {
        table,
        columns: {
          review_id: { from: '$id', type: 'bigint' },
          label: { from: '/label', type: 'text' },
          score: { from: '/score', type: 'double precision' },
        },
        key: ['review_id'],
      },
    },
    'target-tables.int.test.ts',
  );

describe('target tables', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('target_tables');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  describe('readExistingTable', () => {
    it('is null when no relation has the name, schema or not', async () => {
      expect(await readExistingTable(pool, '"no_such_table"')).toBeNull();
      expect(await readExistingTable(pool, '"no_such_schema"."t"')).toBeNull();
    });

    it('reads column types as format_type prints them, without dropped columns', async () => {
      await pool.query(`CREATE TABLE typed (
        id bigint, score double precision, vector real[], amount numeric(10,2), code varchar(20),
        flags boolean, body jsonb, gone int, noted timestamptz)`);
      await pool.query('ALTER TABLE typed DROP COLUMN gone');
      const existing = await readExistingTable(pool, '"typed"');
      expect(existing?.kind).toBe('r');
      expect([...existing!.columns]).toEqual([
        ['id', 'bigint'],
        ['score', 'double precision'],
        ['vector', 'real[]'],
        ['amount', 'numeric(10,2)'],
        ['code', 'character varying(20)'],
        ['flags', 'boolean'],
        ['body', 'jsonb'],
        ['noted', 'timestamp with time zone'],
      ]);
    });

    it('lists the primary key, unique constraints and unique indexes in column order, not partial or expression ones', async () => {
      await pool.query(`CREATE TABLE keyed (
        a int PRIMARY KEY, b int, c int, d text, e int,
        UNIQUE (c, b))`);
      await pool.query('CREATE UNIQUE INDEX keyed_d ON keyed (d)');
      await pool.query('CREATE INDEX keyed_e ON keyed (e)');
      await pool.query('CREATE UNIQUE INDEX keyed_partial ON keyed (e) WHERE e > 0');
      await pool.query('CREATE UNIQUE INDEX keyed_lower ON keyed (lower(d))');
      const existing = await readExistingTable(pool, '"keyed"');
      expect(existing!.uniqueKeys.map((key) => key.join(',')).sort((x, y) => x.localeCompare(y))).toEqual([
        'a',
        'c,b',
        'd',
      ]);
    });

    it('resolves schema-qualified names and says what a view is', async () => {
      await pool.query('CREATE SCHEMA analytics');
      await pool.query('CREATE TABLE analytics.scores (id bigint UNIQUE)');
      await pool.query('CREATE VIEW scores_view AS SELECT 1 AS id');
      expect(await readExistingTable(pool, '"analytics"."scores"')).toMatchObject({
        kind: 'r',
        uniqueKeys: [['id']],
      });
      expect(await readExistingTable(pool, '"scores"')).toBeNull();
      expect((await readExistingTable(pool, '"scores_view"'))?.kind).toBe('v');
    });
  });

  describe('ensureTargetTables', () => {
    it('finds the built-in specific_viewpoint table of the migrations fit, and changes nothing', async () => {
      const outcomes = await ensureTargetTables(pool, builtInJobTypes().all());
      expect(outcomes).toContainEqual({
        jobType: 'specific_viewpoint',
        table: 'review_sentences_wl_spec_vp',
        created: false,
      });
    });

    it('creates a missing table with the declared columns, batch_log_id, created_at and the unique key; then finds it fit', async () => {
      const jobType = sentimentJobType('review_sentiment', 'review_sentiments');
      expect(await ensureTargetTables(pool, [jobType])).toEqual([
        { jobType: 'review_sentiment', table: 'review_sentiments', created: true },
      ]);
      const created = await readExistingTable(pool, '"review_sentiments"');
      expect(Object.fromEntries(created!.columns)).toEqual({
        review_id: 'bigint',
        label: 'text',
        score: 'double precision',
        batch_log_id: 'bigint',
        created_at: 'timestamp with time zone',
      });
      expect(created!.uniqueKeys).toContainEqual(['review_id']);
      expect(await ensureTargetTables(pool, [jobType])).toEqual([
        { jobType: 'review_sentiment', table: 'review_sentiments', created: false },
      ]);
    });

    it('refuses a table that cannot take the rows, naming the job type, the table and each problem; creates nothing', async () => {
      await pool.query('CREATE TABLE sentiments_by_hand (review_id bigint, label text)');
      const fresh = sentimentJobType('fresh_sentiment', 'fresh_sentiments');
      const clashing = sentimentJobType('hand_sentiment', 'sentiments_by_hand');
      const error = await ensureTargetTables(pool, [fresh, clashing]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobTypeError);
      expect((error as JobTypeError).code).toBe('target_table_mismatch');
      const { message } = error as JobTypeError;
      expect(message).toContain('job type hand_sentiment');
      expect(message).toContain('table sentiments_by_hand');
      for (const missing of ['score', 'batch_log_id', 'created_at']) expect(message).toContain(missing);
      expect(message).toMatch(/unique|key/i);
      // One transaction: the fit job type's table was not left behind either.
      expect(await readExistingTable(pool, '"fresh_sentiments"')).toBeNull();
      expect(await readExistingTable(pool, '"sentiments_by_hand"')).toMatchObject({ uniqueKeys: [] });
    });

    it('refuses a view under a target table’s name', async () => {
      await pool.query('CREATE VIEW viewed_sentiments AS SELECT 1::bigint AS review_id');
      await expect(
        ensureTargetTables(pool, [sentimentJobType('viewed', 'viewed_sentiments')]),
      ).rejects.toThrow(/job type viewed .*table viewed_sentiments .*not a table/);
    });
  });
});
