import { DbError, getBatchLog, type Pool } from '@batchline/db';
import type { ResultRecord } from '@batchline/domain';
import { BatchFinalizedEvent } from '@batchline/events';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyResultsChunk } from '../src/store/apply-chunk.ts';
import { chunksOf, failed, newBatch, succeeded, summaryOf, viewpoints } from './support.ts';

describe('applyResultsChunk', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('results');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  async function resultRows(batchLogId: number) {
    const { rows } = await pool.query(
      `SELECT custom_id, outcome, error_code, error_message, review_sentence_id::int AS sentence_id
       FROM batch_request_results WHERE batch_log_id = $1 ORDER BY custom_id`,
      [batchLogId],
    );
    return rows;
  }
  async function associationsOf(batchLogId: number): Promise<string[]> {
    const { rows } = await pool.query<{ pair: string }>(
      `SELECT review_sentence_id || ':' || wl_spec_vp_id AS pair FROM review_sentences_wl_spec_vp
       WHERE batch_log_id = $1 ORDER BY review_sentence_id, wl_spec_vp_id`,
      [batchLogId],
    );
    return rows.map((row) => row.pair);
  }
  async function finalizedOutboxRows(batchLogId: number) {
    const { rows } = await pool.query(
      `SELECT subject, msg_id, payload, headers FROM outbox WHERE payload->>'batchLogId' = $1::text`,
      [batchLogId],
    );
    return rows;
  }

  const NOTHING_WRITTEN = { applied: false, finalized: null, written: { outcomes: 0, associations: 0 } };

  /** Sentences base+1..base+n: even ones succeed with viewpoints [1, 2], odd ones fail. */
  function mixedRecords(base: number, n: number): ResultRecord[] {
    return Array.from({ length: n }, (_, i) => {
      const sentenceId = base + i + 1;
      return sentenceId % 2 === 0 ? succeeded(sentenceId, [1, 2]) : failed(sentenceId, 'http_500');
    });
  }

  it('lands a chunk applied twice once: rows and counts unchanged the second time', async () => {
    const batch = await newBatch(pool, 20);
    const [first] = chunksOf(batch, [mixedRecords(1000, 10), mixedRecords(1010, 10)]);

    expect(await applyResultsChunk(pool, viewpoints, first!)).toEqual({
      applied: true,
      finalized: null,
      written: { outcomes: 10, associations: 10 },
    });
    const rowsAfterFirst = await resultRows(batch);
    const associationsAfterFirst = await associationsOf(batch);
    const logAfterFirst = await getBatchLog(pool, batch);

    expect(await applyResultsChunk(pool, viewpoints, first!)).toEqual(NOTHING_WRITTEN);
    expect(await resultRows(batch)).toEqual(rowsAfterFirst);
    expect(await associationsOf(batch)).toEqual(associationsAfterFirst);
    const logAfterSecond = await getBatchLog(pool, batch);
    expect(logAfterSecond?.processedSentences).toBe(5);
    expect(logAfterSecond?.failedSentences).toBe(5);
    expect(logAfterSecond?.processedSentences).toBe(logAfterFirst?.processedSentences);
    expect(logAfterSecond?.status).toBe(1);
    expect(rowsAfterFirst).toHaveLength(10);
    expect(associationsAfterFirst).toHaveLength(10);
    const ledger = await pool.query('SELECT * FROM batch_result_chunks WHERE batch_log_id = $1', [batch]);
    expect(ledger.rows).toEqual([
      expect.objectContaining({ chunk_seq: 0, records: 10, succeeded: 5, failed: 5, associations: 10 }),
    ]);
  });

  it('finalizes exactly once when the chunks arrive in reverse order', async () => {
    const batch = await newBatch(pool, 30);
    const invalid: ResultRecord = {
      ...failed(1, 'invalid_custom_id'),
      customId: 'not-a-sentence',
      requestId: null,
    };
    const summary = summaryOf({
      finalStatus: 9,
      reason: 'expired',
      providerStatus: 'expired',
      providerErrors: [{ code: 'batch_expired', message: 'expired after 24h', line: null }],
      linesRead: { output: 28, error: 3 },
      invalidLines: { count: 1, samples: [{ file: 'output', line: 17, error: 'not JSON' }] },
      duplicateLines: 2,
      unexpectedLines: 1,
      missingResults: 2,
      download: { bytes: 40_960 },
    });
    const chunks = chunksOf(
      batch,
      [
        mixedRecords(2000, 10),
        [...mixedRecords(2010, 10), invalid],
        [...mixedRecords(2020, 8), failed(2029, 'missing_result'), failed(2030, 'missing_result')],
      ],
      summary,
    );

    const outcomes = [];
    for (const chunk of [...chunks].reverse())
      outcomes.push(await applyResultsChunk(pool, viewpoints, chunk));
    expect(outcomes.map((o) => o.applied)).toEqual([true, true, true]);
    expect(outcomes[0]!.finalized).toBeNull();
    expect(outcomes[1]!.finalized).toBeNull();
    const finalized = outcomes[2]!.finalized;
    expect(finalized).not.toBeNull();

    // 2001..2028: 14 even sentences succeed with 2 viewpoints each, 14 odd ones fail; 2029, 2030 are missing;
    // the invalid custom_id is a failed request too (the fetcher sends rows only for requests of the input).
    const log = await getBatchLog(pool, batch);
    expect(log).toMatchObject({
      status: 9,
      processedSentences: 14,
      failedSentences: 17,
      expectedChunks: 3,
    });
    expect(log?.resultsLandedAt).toBeInstanceOf(Date);
    expect(log?.logDetails).toEqual({
      reason: 'expired',
      providerStatus: 'expired',
      providerErrors: [{ code: 'batch_expired', message: 'expired after 24h', line: null }],
      linesRead: { output: 28, error: 3 },
      invalidLines: { count: 1, samples: [{ file: 'output', line: 17, error: 'not JSON' }] },
      duplicateLines: 2,
      unexpectedLines: 1,
      missingResults: 2,
      inputUnavailable: null,
      downloadError: null,
      errorCodes: { http_500: 14, missing_result: 2, invalid_custom_id: 1 },
    });

    expect(BatchFinalizedEvent.parse(finalized)).toEqual(finalized);
    // The download's size from the fetch, the landing rate over the chunks' transactions (issue 17).
    expect(finalized!.throughput).toMatchObject({ downloadBytes: 40_960, landedRows: 31 });
    expect(finalized!.throughput!.landedRowsPerSecond).toBeGreaterThan(0);
    expect(finalized!.throughput!.landedRowsPerSecond).toBeLessThanOrEqual(31_000);
    expect(finalized).toMatchObject({
      batchLogId: batch,
      provider: 'openai',
      providerBatchId: log?.batchId,
      status: 9,
      reason: 'expired',
      providerStatus: 'expired',
      totalSentences: 30,
      processedSentences: 14,
      failedSentences: 17,
      associations: 28,
      topErrors: [
        { code: 'http_500', count: 14 },
        { code: 'missing_result', count: 2 },
        { code: 'invalid_custom_id', count: 1 },
      ],
      invalidLines: 1,
      submittedAt: log?.createdAt.toISOString(),
      providerTerminalAt: null,
      landedAt: log?.resultsLandedAt?.toISOString(),
    });
    expect(await associationsOf(batch)).toHaveLength(28);
    expect((await resultRows(batch)).find((row) => row.custom_id === 'not-a-sentence')).toMatchObject({
      outcome: 'failed',
      error_code: 'invalid_custom_id',
      sentence_id: null,
    });

    const outbox = await finalizedOutboxRows(batch);
    expect(outbox).toEqual([
      { subject: 'batch.finalized', msg_id: `finalized:${batch}`, payload: finalized, headers: {} },
    ]);

    // Every chunk again (a replay): nothing changes, no second event.
    for (const chunk of chunks)
      expect(await applyResultsChunk(pool, viewpoints, chunk)).toEqual(NOTHING_WRITTEN);
    expect(await finalizedOutboxRows(batch)).toHaveLength(1);
    expect(await getBatchLog(pool, batch)).toMatchObject({
      status: 9,
      processedSentences: 14,
      failedSentences: 17,
    });
  });

  it('finalizes exactly once when every chunk of several batches lands at the same time', async () => {
    const batches = await Promise.all([1, 2, 3, 4].map(() => newBatch(pool, 60)));
    const work = batches.flatMap((batch, b) =>
      chunksOf(
        batch,
        Array.from({ length: 6 }, (_, c) => mixedRecords(100_000 * (b + 1) + c * 10, 10)),
      ),
    );
    // Each chunk delivered twice, all at once, over separate pooled connections.
    const outcomes = await Promise.all(
      [...work, ...work].map((chunk) =>
        applyResultsChunk(pool, viewpoints, chunk, { finalizedEventHeaders: { traceparent: 'tp' } }),
      ),
    );

    expect(outcomes.filter((o) => o.applied)).toHaveLength(work.length);
    for (const batch of batches) {
      const finalizedEvents = outcomes.flatMap((o) =>
        o.finalized?.batchLogId === batch ? [o.finalized] : [],
      );
      expect(finalizedEvents).toHaveLength(1);
      expect(finalizedEvents[0]).toMatchObject({
        status: 2,
        processedSentences: 30,
        failedSentences: 30,
        associations: 60,
      });
      const outbox = await finalizedOutboxRows(batch);
      expect(outbox).toHaveLength(1);
      expect(outbox[0].headers).toEqual({ traceparent: 'tp' });
      expect(await getBatchLog(pool, batch)).toMatchObject({
        status: 2,
        processedSentences: 30,
        failedSentences: 30,
      });
      expect(await resultRows(batch)).toHaveLength(60);
      expect(await associationsOf(batch)).toHaveLength(60);
    }
  });

  it('stores each request’s cached input tokens, on the fast path and on the one that skips conflicts', async () => {
    const cachedTokens = async (batch: number) =>
      (
        await pool.query(
          'SELECT custom_id, prompt_tokens, cached_prompt_tokens FROM batch_request_results WHERE batch_log_id = $1 ORDER BY custom_id',
          [batch],
        )
      ).rows;
    const fast = await newBatch(pool, 2);
    await applyResultsChunk(
      pool,
      viewpoints,
      chunksOf(fast, [[{ ...succeeded(4100, [1]), cachedPromptTokens: 8 }, succeeded(4101, [2])]])[0]!,
    );
    expect(await cachedTokens(fast)).toEqual([
      { custom_id: 'rs-4100', prompt_tokens: 10, cached_prompt_tokens: 8 },
      { custom_id: 'rs-4101', prompt_tokens: 10, cached_prompt_tokens: null },
    ]);
    // 4100:1 exists already: this chunk lands through the conflict-skipping path.
    const conflicting = await newBatch(pool, 2);
    await applyResultsChunk(
      pool,
      viewpoints,
      chunksOf(conflicting, [[succeeded(4100, [1]), { ...succeeded(4102, [3]), cachedPromptTokens: 4 }]])[0]!,
    );
    expect(await cachedTokens(conflicting)).toEqual([
      { custom_id: 'rs-4100', prompt_tokens: 10, cached_prompt_tokens: null },
      { custom_id: 'rs-4102', prompt_tokens: 10, cached_prompt_tokens: 4 },
    ]);
  });

  it('lands the rest of a chunk when an association already exists from an earlier batch', async () => {
    const earlier = await newBatch(pool, 1);
    await applyResultsChunk(pool, viewpoints, chunksOf(earlier, [[succeeded(3001, [1])]])[0]!);

    const later = await newBatch(pool, 4);
    const records = [
      succeeded(3000, [1, 3]),
      succeeded(3001, [1, 2]), // 3001:1 belongs to the earlier batch
      failed(3002, 'invalid_content'),
      succeeded(3003, []),
    ];
    const { finalized } = await applyResultsChunk(pool, viewpoints, chunksOf(later, [records])[0]!);

    expect(await associationsOf(earlier)).toEqual(['3001:1']);
    expect(await associationsOf(later)).toEqual(['3000:1', '3000:3', '3001:2']);
    expect((await resultRows(later)).map((row) => [row.custom_id, row.outcome])).toEqual([
      ['rs-3000', 'succeeded'],
      ['rs-3001', 'succeeded'],
      ['rs-3002', 'failed'],
      ['rs-3003', 'succeeded'],
    ]);
    expect(finalized).toMatchObject({
      status: 2,
      processedSentences: 3,
      failedSentences: 1,
      associations: 3,
    });
    const ledger = await pool.query('SELECT associations FROM batch_result_chunks WHERE batch_log_id = $1', [
      later,
    ]);
    expect(ledger.rows).toEqual([{ associations: 3 }]);
  });

  it('records an answer naming a viewpoint that left the catalogue as unknown_viewpoint, landing the rest', async () => {
    await pool.query(`INSERT INTO wl_spec_vps (id, name) VALUES (77, 'short-lived')`);
    const batch = await newBatch(pool, 3);
    const chunks = chunksOf(batch, [
      [succeeded(4000, [1])],
      [succeeded(4001, [2, 77]), succeeded(4002, [3])],
    ]);
    await applyResultsChunk(pool, viewpoints, chunks[0]!);
    await pool.query('DELETE FROM wl_spec_vps WHERE id = 77');

    const { finalized } = await applyResultsChunk(pool, viewpoints, chunks[1]!);

    expect(await associationsOf(batch)).toEqual(['4000:1', '4002:3']);
    expect((await resultRows(batch)).find((row) => row.custom_id === 'rs-4001')).toMatchObject({
      outcome: 'failed',
      error_code: 'unknown_viewpoint',
    });
    expect(finalized).toMatchObject({ processedSentences: 2, failedSentences: 1, associations: 2 });
  });

  it('keeps the first of two records with the same custom_id in one chunk', async () => {
    const batch = await newBatch(pool, 1);
    const { finalized } = await applyResultsChunk(
      pool,
      viewpoints,
      chunksOf(batch, [[succeeded(5000, [1]), failed(5000, 'http_500'), succeeded(5000, [2])]])[0]!,
    );
    expect((await resultRows(batch)).map((row) => row.outcome)).toEqual(['succeeded']);
    expect(await associationsOf(batch)).toEqual(['5000:1']);
    expect(finalized).toMatchObject({ processedSentences: 1, failedSentences: 0, associations: 1 });
  });

  describe('awkward text', () => {
    const AWKWARD = [
      'line one\nline two\r\nline three',
      'tab\tseparated\tvalues',
      'back\\slash \\N \\. \\t and a trailing backslash\\',
      `single ' and double " quotes, "quoted, with comma"`,
      "'; DROP TABLE batch_request_results; --",
      '\\.\n\\.',
      'unicode: 日本語, émoji 🎉, combining é, RTL עברית, zero-width \u200b, BOM \ufeff',
      '',
    ];

    function awkwardRecords(base: number): ResultRecord[] {
      return AWKWARD.map((message, i) => ({
        ...failed(base + i, `code\t${i}\n`, message),
        customId: `${viewpoints.customIdFor(base + i)}`,
      }));
    }

    async function expectRoundTrip(batch: number, base: number) {
      const rows = await resultRows(batch);
      expect(rows.map((row) => row.error_message)).toEqual(AWKWARD);
      expect(rows.map((row) => row.error_code)).toEqual(AWKWARD.map((_, i) => `code\t${i}\n`));
      expect(rows.map((row) => row.sentence_id)).toEqual(AWKWARD.map((_, i) => base + i));
    }

    it('round-trips exactly through COPY', async () => {
      const batch = await newBatch(pool, AWKWARD.length);
      await applyResultsChunk(pool, viewpoints, chunksOf(batch, [awkwardRecords(6000)])[0]!);
      await expectRoundTrip(batch, 6000);
    });

    it('round-trips exactly through the conflict path too', async () => {
      const earlier = await newBatch(pool, 1);
      await applyResultsChunk(pool, viewpoints, chunksOf(earlier, [[succeeded(6100, [1])]])[0]!);
      const batch = await newBatch(pool, AWKWARD.length + 1);
      await applyResultsChunk(
        pool,
        viewpoints,
        chunksOf(batch, [[...awkwardRecords(6101), succeeded(6100, [1])]])[0]!,
      );
      const rows = await resultRows(batch);
      expect(rows.filter((row) => row.outcome === 'failed').map((row) => row.error_message)).toEqual(AWKWARD);
      expect(await associationsOf(batch)).toEqual([]);
    });

    it('stores a custom_id full of control characters as it came', async () => {
      const batch = await newBatch(pool, 1);
      const customId = "rs-1\n'; DROP TABLE x; --\t\\";
      await applyResultsChunk(
        pool,
        viewpoints,
        chunksOf(batch, [[{ ...failed(1, 'invalid_custom_id'), customId, requestId: null }]])[0]!,
      );
      expect((await resultRows(batch)).map((row) => row.custom_id)).toEqual([customId]);
      const tables = await pool.query(`SELECT to_regclass('batch_request_results') AS t`);
      expect(tables.rows[0].t).not.toBeNull();
    });

    it('replaces NUL, which Postgres text cannot hold, instead of failing the chunk forever', async () => {
      const batch = await newBatch(pool, 1);
      await applyResultsChunk(
        pool,
        viewpoints,
        chunksOf(batch, [[failed(6200, 'http_500', 'before\u0000after')]])[0]!,
      );
      expect((await resultRows(batch))[0].error_message).toBe('before\ufffdafter');
    });
  });

  it('refuses a chunk of an unknown batch and writes nothing', async () => {
    const error = await applyResultsChunk(
      pool,
      viewpoints,
      chunksOf(987_654, [[succeeded(7000, [1])]])[0]!,
    ).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DbError);
    expect((error as DbError).code).toBe('batch_not_found');
    const leftovers = await pool.query(
      `SELECT (SELECT count(*) FROM batch_result_chunks WHERE batch_log_id = 987654)::int AS ledger,
              (SELECT count(*) FROM batch_request_results WHERE batch_log_id = 987654)::int AS results`,
    );
    expect(leftovers.rows[0]).toEqual({ ledger: 0, results: 0 });
  });

  it('never changes a final status', async () => {
    const batch = await newBatch(pool, 0);
    const { finalized } = await applyResultsChunk(
      pool,
      viewpoints,
      chunksOf(batch, [[]], summaryOf({ finalStatus: 9, reason: 'failed' }))[0]!,
    );
    expect(finalized).toMatchObject({ status: 9, processedSentences: 0, associations: 0, topErrors: [] });
    await expect(
      pool.query('UPDATE batch_jobs_vp_logs SET status = 1 WHERE id = $1', [batch]),
    ).rejects.toThrow(/final/);
    expect((await getBatchLog(pool, batch))?.status).toBe(9);
  });
});
