import type { Pool } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyResultsChunk } from '../src/store/apply-chunk.ts';
import { chunksOf, failed, newBatch, succeeded, viewpoints } from './support.ts';

const line = (customId: string, text: string) =>
  `{"custom_id": "${customId}", "response": {"status_code": 200, "body": ${JSON.stringify({ text })}}}`;

describe('keeping the raw answers of a chunk (batch_request_answers)', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('persister_raw_answers');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  const answersOf = async (batchLogId: number) =>
    (
      await pool.query<{ custom_id: string; answer: string }>(
        'SELECT custom_id, answer FROM batch_request_answers WHERE batch_log_id = $1 ORDER BY custom_id',
        [batchLogId],
      )
    ).rows.map((row) => [row.custom_id, row.answer]);

  it('stores each line byte for byte with the chunk, and a redelivered chunk stores nothing twice', async () => {
    const batch = await newBatch(pool, 3);
    const [first, second] = chunksOf(batch, [
      [succeeded(1, [1]), failed(2, 'server_error')],
      [succeeded(3, [2])],
    ]);
    const firstAnswers: [string, string][] = [
      [viewpoints.customIdFor(1), line(viewpoints.customIdFor(1), 'tab\there, quote " and ünïcode 🎉\\n')],
      [
        viewpoints.customIdFor(2),
        `{"custom_id":"${viewpoints.customIdFor(2)}","error":{"code":"server_error"}}`,
      ],
    ];
    const secondAnswers: [string, string][] = [
      [viewpoints.customIdFor(3), line(viewpoints.customIdFor(3), '')],
    ];

    expect(await applyResultsChunk(pool, viewpoints, { ...first!, rawAnswers: firstAnswers })).toMatchObject({
      applied: true,
    });
    expect(await applyResultsChunk(pool, viewpoints, { ...first!, rawAnswers: firstAnswers })).toMatchObject({
      applied: false,
    });
    const { finalized } = await applyResultsChunk(pool, viewpoints, {
      ...second!,
      rawAnswers: secondAnswers,
    });
    expect(finalized).not.toBeNull();
    expect(await answersOf(batch)).toEqual([...firstAnswers, ...secondAnswers]);
  });

  it('keeps the first answer of a request should a re-fetch ship it in another chunk', async () => {
    const batch = await newBatch(pool, 1);
    const customId = viewpoints.customIdFor(1);
    const [chunk] = chunksOf(batch, [[succeeded(1, [1])]]);
    await applyResultsChunk(pool, viewpoints, {
      ...chunk!,
      last: false,
      chunkCount: null,
      summary: null,
      rawAnswers: [[customId, 'first']],
    });
    await applyResultsChunk(pool, viewpoints, {
      ...chunk!,
      chunkSeq: 1,
      chunkCount: 2,
      rawAnswers: [[customId, 'again']],
    });
    expect(await answersOf(batch)).toEqual([[customId, 'first']]);
  });

  it('stores none for a chunk without raw answers, and none when the chunk fails (one transaction)', async () => {
    const plain = await newBatch(pool, 1);
    await applyResultsChunk(pool, viewpoints, chunksOf(plain, [[succeeded(1, [1])]])[0]!);
    expect(await answersOf(plain)).toEqual([]);

    const missing = 2_000_000_000;
    const [chunk] = chunksOf(missing, [[succeeded(1, [1])]]);
    await expect(
      applyResultsChunk(pool, viewpoints, { ...chunk!, rawAnswers: [[viewpoints.customIdFor(1), 'lost']] }),
    ).rejects.toThrow(/does not exist/);
    expect(await answersOf(missing)).toEqual([]);
  });
});
