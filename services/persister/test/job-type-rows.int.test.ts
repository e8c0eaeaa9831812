import { getBatchLog, type Pool } from '@batchline/db';
import { failedRecord, type RequestId, type ResultRecord, type RowValue } from '@batchline/domain';
import { compileJobType, type JobType, targetTableDdl } from '@batchline/job-types';
import {
  embeddingsDeclaration,
  type MigratedTestDatabase,
  migratedTestDatabase,
  sentimentDeclaration,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyResultsChunk } from '../src/store/apply-chunk.ts';
import { MalformedChunkError } from '../src/store/landing-plan.ts';
import { chunksOf, newBatch, summaryOf } from './support.ts';

/** The shared test declarations: one row per review (a label from the catalogue, a score), and one vector per doc. */
const sentiment = compileJobType(sentimentDeclaration(), 'sentiment.test.yaml');
const embeddings = compileJobType(embeddingsDeclaration(), 'embeddings.test.yaml');

/** Every other column type, for COPY's text format: one row per element of `/items`. */
const assorted = compileJobType(
  {
    name: 'assorted_rows_test',
    input: { id: 'doc_id', fields: ['text'] },
    customIdPrefix: 'doc',
    request: {
      endpoint: '/v1/chat/completions',
      messages: [{ role: 'user', content: '{{text}}' }],
      responseSchema: { type: 'object', properties: { items: { type: 'array' } }, required: ['items'] },
    },
    results: {
      table: 'analytics.assorted_test',
      each: '/items',
      columns: {
        doc_id: { from: '$id', type: 'text' },
        rank: { from: '$item/rank', type: 'smallint' },
        note: { from: '$item/note', type: 'text' },
        payload: { from: '$item/payload', type: 'jsonb' },
        flag: { from: '$item/flag', type: 'boolean' },
        weights: { from: '$item/weights', type: 'double precision[]' },
        amount: { from: '$item/amount', type: 'numeric' },
        small: { from: '$item/small', type: 'real' },
      },
      key: ['doc_id', 'rank'],
    },
  },
  'assorted.test.json',
);

const HOSTILE = [
  `'); DROP TABLE review_sentiments; --`,
  'tab\there',
  'line one\nline two\r\nline three',
  'back\\slash \\N \\. and a trailing backslash\\',
  `single ' and double " quotes`,
  '\\.',
  'unicode 日本語 🎉 \u200b',
  '',
];

const succeeded = (jobType: JobType, requestId: RequestId, rows: RowValue[][]): ResultRecord => ({
  customId: jobType.customIdFor(requestId),
  requestId,
  outcome: 'succeeded',
  rows,
  errorCode: null,
  errorMessage: null,
  promptTokens: 20,
  completionTokens: 4,
});
const failed = (jobType: JobType, requestId: RequestId, code: string): ResultRecord =>
  failedRecord(jobType.customIdFor(requestId), requestId, code, 'it went wrong');

describe('landing the rows of declared job types', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('job_type_rows');
    pool = db.pool;
    await pool.query('CREATE SCHEMA analytics');
    await pool.query('CREATE TABLE sentiment_labels (name text PRIMARY KEY, description text NOT NULL)');
    await pool.query(
      `INSERT INTO sentiment_labels VALUES ('positive', 'good'), ('negative', 'bad'), ('neutral', 'meh')`,
    );
    for (const jobType of [sentiment, embeddings, assorted]) {
      for (const statement of targetTableDdl(jobType.target)) await pool.query(statement);
    }
  });
  afterAll(async () => db?.close());

  const NOTHING_WRITTEN = { applied: false, finalized: null, written: { outcomes: 0, associations: 0 } };

  async function sentimentRows(batchLogId: number) {
    const { rows } = await pool.query(
      `SELECT review_id::int AS id, label, score FROM review_sentiments WHERE batch_log_id = $1 ORDER BY review_id`,
      [batchLogId],
    );
    return rows;
  }
  async function outcomes(batchLogId: number) {
    const { rows } = await pool.query(
      `SELECT custom_id, outcome, error_code, review_sentence_id::int AS id FROM batch_request_results
       WHERE batch_log_id = $1 ORDER BY custom_id`,
      [batchLogId],
    );
    return rows;
  }

  it('lands a sentiment batch: one row per succeeded request, the id from the request, counts as before', async () => {
    const batch = await newBatch(pool, 4, sentiment.name);
    const chunks = chunksOf(
      batch,
      [
        [succeeded(sentiment, 1, [['positive', 0.875]]), failed(sentiment, 2, 'unknown_label')],
        [succeeded(sentiment, 3, [['neutral', 0]]), failed(sentiment, 4, 'missing_result')],
      ],
      summaryOf(),
      sentiment,
    );
    expect(await applyResultsChunk(pool, sentiment, chunks[0]!)).toMatchObject({
      applied: true,
      written: { outcomes: 2, associations: 1 },
    });
    const { finalized } = await applyResultsChunk(pool, sentiment, chunks[1]!);

    expect(await sentimentRows(batch)).toEqual([
      { id: 1, label: 'positive', score: 0.875 },
      { id: 3, label: 'neutral', score: 0 },
    ]);
    expect(await outcomes(batch)).toEqual([
      { custom_id: 'sent-1', outcome: 'succeeded', error_code: null, id: 1 },
      { custom_id: 'sent-2', outcome: 'failed', error_code: 'unknown_label', id: 2 },
      { custom_id: 'sent-3', outcome: 'succeeded', error_code: null, id: 3 },
      { custom_id: 'sent-4', outcome: 'failed', error_code: 'missing_result', id: 4 },
    ]);
    expect(finalized).toMatchObject({
      status: 2,
      processedSentences: 2,
      failedSentences: 2,
      associations: 2,
    });

    // Redelivered, and replayed without deleting anything: no-ops.
    for (const chunk of chunks)
      expect(await applyResultsChunk(pool, sentiment, chunk)).toEqual(NOTHING_WRITTEN);

    // Replayed after an operator deleted the batch's rows, outcomes and ledger: everything lands again, once.
    await pool.query('DELETE FROM review_sentiments WHERE batch_log_id = $1', [batch]);
    await pool.query('DELETE FROM batch_request_results WHERE batch_log_id = $1', [batch]);
    await pool.query('DELETE FROM batch_result_chunks WHERE batch_log_id = $1', [batch]);
    for (const chunk of [...chunks, ...chunks]) await applyResultsChunk(pool, sentiment, chunk);
    expect(await sentimentRows(batch)).toHaveLength(2);
    expect(await outcomes(batch)).toHaveLength(4);
    expect(await getBatchLog(pool, batch)).toMatchObject({
      status: 2,
      processedSentences: 2,
      failedSentences: 2,
    });
  });

  it('keeps the row that landed first when a key repeats, and fails a request whose label left the catalogue', async () => {
    const earlier = await newBatch(pool, 1, sentiment.name);
    await applyResultsChunk(
      pool,
      sentiment,
      chunksOf(earlier, [[succeeded(sentiment, 100, [['negative', 0.25]])]], summaryOf(), sentiment)[0]!,
    );
    await pool.query(`INSERT INTO sentiment_labels VALUES ('fleeting', 'gone soon')`);
    const later = await newBatch(pool, 3, sentiment.name);
    const chunk = chunksOf(
      later,
      [
        [
          succeeded(sentiment, 100, [['positive', 1]]), // review 100 landed with the earlier batch
          succeeded(sentiment, 101, [['fleeting', 0.5]]),
          succeeded(sentiment, 102, [['neutral', 0.5]]),
        ],
      ],
      summaryOf(),
      sentiment,
    )[0]!;
    await pool.query(`DELETE FROM sentiment_labels WHERE name = 'fleeting'`);

    const { finalized } = await applyResultsChunk(pool, sentiment, chunk);

    expect(await sentimentRows(earlier)).toEqual([{ id: 100, label: 'negative', score: 0.25 }]);
    expect(await sentimentRows(later)).toEqual([{ id: 102, label: 'neutral', score: 0.5 }]);
    expect((await outcomes(later)).map((row) => [row.custom_id, row.outcome, row.error_code])).toEqual([
      ['sent-100', 'succeeded', null],
      ['sent-101', 'failed', 'unknown_label'],
      ['sent-102', 'succeeded', null],
    ]);
    expect(finalized).toMatchObject({ processedSentences: 2, failedSentences: 1, associations: 1 });
  });

  it('lands embeddings as real[] under string ids, which batch_request_results keeps in custom_id only', async () => {
    const batch = await newBatch(pool, 3, embeddings.name);
    const chunk = chunksOf(
      batch,
      [
        [
          succeeded(embeddings, 'doc-a.1', [[[0.25, -0.5, 0.125, 1]]]),
          succeeded(embeddings, 'doc_b', [[[3.5e-7, 1e-50, -2, 65504]]]),
          failed(embeddings, 'doc_c', 'http_500'),
        ],
      ],
      summaryOf(),
      embeddings,
    )[0]!;
    const { finalized } = await applyResultsChunk(pool, embeddings, chunk);
    const { rows } = await pool.query(
      `SELECT doc_id, embedding, pg_typeof(embedding)::text AS type FROM review_embeddings
       WHERE batch_log_id = $1 ORDER BY doc_id`,
      [batch],
    );
    expect(rows).toEqual([
      { doc_id: 'doc-a.1', embedding: [0.25, -0.5, 0.125, 1], type: 'real[]' },
      // real rounds: 1e-50 is below its smallest value and lands as 0.
      { doc_id: 'doc_b', embedding: [3.5e-7, 0, -2, 65504], type: 'real[]' },
    ]);
    expect(await outcomes(batch)).toEqual([
      { custom_id: 'emb-doc-a.1', outcome: 'succeeded', error_code: null, id: null },
      { custom_id: 'emb-doc_b', outcome: 'succeeded', error_code: null, id: null },
      { custom_id: 'emb-doc_c', outcome: 'failed', error_code: 'http_500', id: null },
    ]);
    expect(finalized).toMatchObject({ processedSentences: 2, failedSentences: 1, associations: 2 });
  });

  describe('hostile answers', () => {
    async function assortedRows(batchLogId: number) {
      const { rows } = await pool.query(
        `SELECT doc_id, rank, note, payload, flag, weights, amount::text AS amount, small
         FROM analytics.assorted_test WHERE batch_log_id = $1 ORDER BY doc_id, rank`,
        [batchLogId],
      );
      return rows;
    }
    const items = HOSTILE.map((text, rank): RowValue[] => [
      rank,
      text,
      JSON.stringify({ text, nul: 'a\u0000b', [text]: [1, null, true] }),
      rank % 2 === 0,
      [rank, -0.5, 1e300],
      12345.678,
      rank === 0 ? null : 0.5,
    ]);

    it('land verbatim through COPY: text, jsonb, booleans, arrays, numbers and NULL', async () => {
      const batch = await newBatch(pool, 1, assorted.name);
      await applyResultsChunk(
        pool,
        assorted,
        chunksOf(batch, [[succeeded(assorted, 'x1', items)]], summaryOf(), assorted)[0]!,
      );
      const rows = await assortedRows(batch);
      expect(rows.map((row) => row.note)).toEqual(HOSTILE);
      expect(rows.map((row) => row.payload)).toEqual(
        HOSTILE.map((text) => ({ text, nul: 'a\ufffdb', [text]: [1, null, true] })),
      );
      expect(rows.map((row) => [row.rank, row.flag, row.weights, row.amount, row.small])).toEqual(
        HOSTILE.map((_, rank) => [
          rank,
          rank % 2 === 0,
          [rank, -0.5, 1e300],
          '12345.678',
          rank === 0 ? null : 0.5,
        ]),
      );
      const tables = await pool.query(`SELECT to_regclass('review_sentiments') AS t`);
      expect(tables.rows[0].t).not.toBeNull();
    });

    it('land verbatim through the conflict path too', async () => {
      const earlier = await newBatch(pool, 1, assorted.name);
      await applyResultsChunk(
        pool,
        assorted,
        chunksOf(earlier, [[succeeded(assorted, 'x2', [items[0]!])]], summaryOf(), assorted)[0]!,
      );
      const batch = await newBatch(pool, 1, assorted.name);
      await applyResultsChunk(
        pool,
        assorted,
        chunksOf(batch, [[succeeded(assorted, 'x2', items)]], summaryOf(), assorted)[0]!,
      );
      const rows = await assortedRows(batch);
      expect(rows.map((row) => row.note)).toEqual(HOSTILE.slice(1));
      expect(rows.map((row) => row.payload.text)).toEqual(HOSTILE.slice(1));
    });
  });

  describe('a chunk that does not fit its job type', () => {
    async function expectRefused(jobType: JobType, record: ResultRecord, message: RegExp) {
      const batch = await newBatch(pool, 1, jobType.name);
      const chunk = chunksOf(batch, [[record]], summaryOf(), jobType)[0]!;
      const refused = await applyResultsChunk(pool, jobType, chunk).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(MalformedChunkError);
      expect((refused as Error).message).toMatch(message);
      const written = await pool.query(
        `SELECT (SELECT count(*) FROM batch_result_chunks WHERE batch_log_id = $1)::int AS ledger,
                (SELECT count(*) FROM batch_request_results WHERE batch_log_id = $1)::int AS results`,
        [batch],
      );
      expect(written.rows[0]).toEqual({ ledger: 0, results: 0 });
    }

    it.each([
      ['a row of the wrong width', [['positive']], /"sent-7" row 0: a row of 2 values expected/],
      ['a value its column cannot hold', [['positive', 'high']], /"high" is not a value of column score/],
      ['a vector where text belongs', [[[1, 2], 0.5]], /\[1,2\] is not a value of column label \(text\)/],
    ])('is refused before anything is written: %s', async (_label, rows, message) => {
      await expectRefused(sentiment, succeeded(sentiment, 7, rows as RowValue[][]), message);
    });

    it('is refused when a key value is missing', async () => {
      const row: RowValue[] = [null, 'note', '{}', true, [], 1, 0.5];
      await expectRefused(assorted, succeeded(assorted, 'd1', [row]), /key column rank has no value/);
    });

    it('is refused when a request id is not of the kind of its id column', async () => {
      await expectRefused(
        sentiment,
        succeeded(sentiment, 'abc', [['positive', 0.5]]),
        /"abc" is not a value of column review_id \(bigint\)/,
      );
    });
  });
});
