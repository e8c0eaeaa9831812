import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { insertBatchLog, openExport } from '@batchline/db';
import {
  entitiesJobTypes,
  type MigratedTestDatabase,
  migratedTestDatabase,
  seedEntitiesJob,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROWS = 200_000;

describe('openExport streams a large export', () => {
  let db: MigratedTestDatabase;
  let batchLogId: number;
  const { entities } = entitiesJobTypes();

  beforeAll(async () => {
    db = await migratedTestDatabase('db_export_stream');
    await seedEntitiesJob(db.pool, entities, 'stream');
    ({ id: batchLogId } = await insertBatchLog(db.pool, {
      provider: 'openai',
      batchId: `batch_stream_${process.pid}`,
      model: 'gpt-4o-mini',
      jobType: 'entities',
      totalSentences: ROWS,
      inputFileId: 'file-stream',
      firstPollDelayMs: 60_000,
    }));
    await db.pool.query(
      `INSERT INTO analytics.document_entities (doc_id, name, kind, confidence, meta, batch_log_id)
       SELECT n, 'entity number ' || n || ', with "quotes" and text to make the line longer', 'person', n / 7.0,
              jsonb_build_object('n', n, 'tags', jsonb_build_array('a', 'b')), $1
       FROM generate_series(1, $2) n`,
      [batchLogId, ROWS],
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  it('hands out the rows as the consumer reads them, never the whole export at once', async () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const stream = await openExport(db.pool, {
        scope: { batchLogId },
        what: 'rows',
        format,
        target: entities.target,
      });
      let bytes = 0;
      let lines = 0;
      let mostBuffered = 0;
      const heapBefore = process.memoryUsage().heapUsed;
      let heapPeak = heapBefore;
      const started = performance.now();
      // A consumer slower than Postgres: it yields after every chunk, so unread data would pile up if the
      // stream did not stop reading the connection.
      const slowReader = new Writable({
        highWaterMark: 16 * 1024,
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          for (const byte of chunk) if (byte === 10) lines += 1;
          mostBuffered = Math.max(mostBuffered, stream.readableLength);
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
          nextTurn().then(() => done());
        },
      });
      await pipeline(stream, slowReader);
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `export ${format}: ${lines} lines, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s ` +
          `(${(bytes / 1e6 / seconds).toFixed(1)} MB/s); most buffered ${(mostBuffered / 1024).toFixed(0)} KiB, ` +
          `heap growth at peak ${((heapPeak - heapBefore) / 1e6).toFixed(1)} MB`,
      );
      expect(lines).toBe(ROWS + (format === 'csv' ? 1 : 0));
      // What waits unread stays within a few socket reads, far below the export's size.
      expect(mostBuffered).toBeLessThan(2 * 1024 * 1024);
      expect(bytes).toBeGreaterThan(20 * 1024 * 1024);
    }
    // The connection went back to the pool, usable, with its statement timeout restored.
    const { rows } = await db.pool.query<{ timeout: string }>('SHOW statement_timeout');
    expect(rows[0]!.timeout).not.toBe('0');
  });

  it('closes the connection of an export abandoned halfway, leaving the pool usable', async () => {
    const stream = await openExport(db.pool, {
      scope: { batchLogId },
      what: 'rows',
      format: 'jsonl',
      target: entities.target,
    });
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    const { rows } = await db.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM analytics.document_entities',
    );
    expect(Number(rows[0]!.n)).toBeGreaterThan(ROWS);
  });
});
