import { describe, expect, it } from 'vitest';
import { compileJobType, type ExistingTable, targetTableDdl, targetTableProblems } from '../index.ts';
import { entitiesDeclaration, sentimentDeclaration } from './declarations.ts';

const sentiment = compileJobType(sentimentDeclaration(), 'test').target;
const entities = compileJobType(entitiesDeclaration(), 'test').target;

describe('targetTableDdl', () => {
  it('creates the table with its key, batchline columns and batch index, every identifier quoted', () => {
    expect(targetTableDdl(sentiment)).toEqual([
      [
        'CREATE TABLE IF NOT EXISTS "review_sentiments" (',
        '  "review_id" bigint NOT NULL,',
        '  "label" text,',
        '  "score" double precision,',
        '  "batch_log_id" bigint NOT NULL,',
        '  "created_at" timestamptz NOT NULL DEFAULT now(),',
        '  UNIQUE ("review_id")',
        ')',
      ].join('\n'),
      'CREATE INDEX IF NOT EXISTS "review_sentiments_batch_idx" ON "review_sentiments" ("batch_log_id")',
    ]);
  });

  it('creates the schema of a schema-qualified table first', () => {
    const [schema, table, index] = targetTableDdl(entities);
    expect(schema).toBe('CREATE SCHEMA IF NOT EXISTS "analytics"');
    expect(table).toContain('CREATE TABLE IF NOT EXISTS "analytics"."document_entities" (');
    expect(table).toContain('  "name" text NOT NULL,\n  "kind" text,\n  "confidence" real,\n  "meta" jsonb,');
    expect(table).toContain('UNIQUE ("doc_id", "name")');
    expect(index).toBe(
      'CREATE INDEX IF NOT EXISTS "document_entities_batch_idx" ON "analytics"."document_entities" ("batch_log_id")',
    );
  });

  it('quotes reserved words and keeps long index names within 63 characters', () => {
    const declaration = sentimentDeclaration();
    declaration.results.table = `t${'x'.repeat(62)}`;
    declaration.results.columns = {
      order: { from: '$id', type: 'bigint' },
      select: { from: '/label', type: 'text' },
    };
    declaration.results.key = ['order', 'select'];
    (declaration as { catalogue?: unknown }).catalogue = undefined;
    (declaration.request as { messages: unknown }).messages = [{ role: 'user', content: '{{text}}' }];
    const [table, index] = targetTableDdl(compileJobType(declaration, 'test').target);
    expect(table).toContain('"order" bigint NOT NULL,\n  "select" text NOT NULL,');
    expect(table).toContain('UNIQUE ("order", "select")');
    const name = /INDEX IF NOT EXISTS "([^"]+)"/.exec(index!)![1]!;
    expect(name).toHaveLength(63);
    expect(name.endsWith('_batch_idx')).toBe(true);
  });
});

describe('targetTableProblems', () => {
  const fitting = (): { columns: Map<string, string>; uniqueKeys: string[][] } => ({
    columns: new Map([
      ['review_id', 'bigint'],
      ['label', 'text'],
      ['score', 'double precision'],
      ['batch_log_id', 'bigint'],
      ['created_at', 'timestamp with time zone'],
      ['extra', 'text'],
    ]),
    uniqueKeys: [['id'], ['review_id']],
  });

  it('finds nothing wrong with a table that fits', () => {
    expect(targetTableProblems(sentiment, fitting())).toEqual([]);
    const numeric = compileJobType(
      {
        ...sentimentDeclaration(),
        results: {
          ...sentimentDeclaration().results,
          columns: { ...sentimentDeclaration().results.columns, score: { from: '/score', type: 'numeric' } },
        },
      },
      'test',
    ).target;
    const table = fitting();
    table.columns.set('score', 'numeric(5,4)');
    expect(targetTableProblems(numeric, table)).toEqual([]);
  });

  it('names each missing column, wrong type and missing key', () => {
    const table: ExistingTable = {
      columns: new Map([
        ['review_id', 'integer'],
        ['score', 'real'],
        ['batch_log_id', 'bigint'],
      ]),
      uniqueKeys: [['review_id', 'label']],
    };
    expect(targetTableProblems(sentiment, table)).toEqual([
      'Column review_id of table review_sentiments is integer, but the job type needs bigint.',
      'Table review_sentiments has no column label (text).',
      'Column score of table review_sentiments is real, but the job type needs double precision.',
      'Table review_sentiments has no column created_at (timestamp with time zone).',
      'Table review_sentiments has no unique key over exactly (review_id), which results.key needs so that each row lands once; its unique keys: (review_id, label).',
    ]);
  });

  it('takes the key columns in any order, but not a key over fewer or more columns', () => {
    const table = {
      ...fitting(),
      columns: new Map([
        ...fitting().columns,
        ['name', 'text'],
        ['doc_id', 'bigint'],
        ['kind', 'text'],
        ['confidence', 'real'],
        ['meta', 'jsonb'],
      ]),
    };
    expect(targetTableProblems(entities, { ...table, uniqueKeys: [['name', 'doc_id']] })).toEqual([]);
    expect(targetTableProblems(entities, { ...table, uniqueKeys: [['doc_id']] })).toHaveLength(1);
    expect(
      targetTableProblems(entities, { ...table, uniqueKeys: [['doc_id', 'name', 'kind']] }),
    ).toHaveLength(1);
    expect(targetTableProblems(entities, { ...table, uniqueKeys: [] })[0]).toBe(
      'Table analytics.document_entities has no unique key over exactly (doc_id, name), which results.key needs so that each row lands once.',
    );
  });
});
