import { insertBatchLog } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase, silentLogger, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPeriodicSummary } from '../src/summary.ts';

describe('the periodic summary', () => {
  let db: MigratedTestDatabase;

  beforeAll(async () => {
    db = await migratedTestDatabase('poller_summary');
  });
  afterAll(async () => db?.close());

  it('names the oldest batches still processing, with their progress and estimated completion', async () => {
    const ids: number[] = [];
    for (const [index, jobType] of ['specific_viewpoint', 'review_sentiment'].entries()) {
      const { id } = await insertBatchLog(db.pool, {
        provider: 'openai',
        batchId: `batch_summary_${index}_${process.pid}`,
        model: 'gpt-4o-mini',
        jobType,
        totalSentences: 25,
        inputFileId: 'file-in',
        firstPollDelayMs: 60_000,
      });
      ids.push(id);
    }
    // The first: started 10 minutes ago, 10 of 25 done at the check 5 minutes ago. The second: nothing known.
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET created_at = now() - interval '20 minutes', provider_status = 'in_progress',
         provider_started_at = now() - interval '10 minutes', last_checked_at = now() - interval '5 minutes',
         request_counts = '{"total": 25, "completed": 9, "failed": 1}' WHERE id = $1`,
      [ids[0]],
    );
    const summary = startPeriodicSummary({
      pool: db.pool,
      log: silentLogger,
      owner: 'poller-summary-test',
      intervalMs: 100,
      onEnqueued: () => {},
    });
    try {
      const payload = await waitFor('the summary in the outbox', async () => {
        const { rows } = await db.pool.query(
          `SELECT payload FROM outbox WHERE msg_id LIKE 'poller-summary:poller-summary-test:%' ORDER BY id LIMIT 1`,
        );
        return rows[0]?.payload;
      });
      expect(payload.pendingBatches).toBe(2);
      expect(payload.stillProcessing).toEqual([
        {
          batchLogId: ids[0],
          batchId: `batch_summary_0_${process.pid}`,
          jobType: 'specific_viewpoint',
          done: 10,
          total: 25,
          estimatedCompletionAt: expect.any(String),
          estimateBasis: 'progress',
        },
        {
          batchLogId: ids[1],
          batchId: `batch_summary_1_${process.pid}`,
          jobType: 'review_sentiment',
          done: null,
          total: null,
          estimatedCompletionAt: null,
          estimateBasis: null,
        },
      ]);
      // 10 done in 5 minutes of work, 15 left: 7.5 minutes after the check 5 minutes ago.
      const { rows } = await db.pool.query<{ now: Date }>('SELECT now()');
      const fromNow = Date.parse(payload.stillProcessing[0].estimatedCompletionAt) - rows[0]!.now.getTime();
      expect(Math.abs(fromNow - 2.5 * 60_000)).toBeLessThan(5000);
    } finally {
      await summary.stop();
    }
  });
});
