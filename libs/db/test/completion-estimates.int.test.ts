import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESTIMATE_HISTORY_BATCHES, type Pool, readBatchProgress } from '../index.ts';
import { newBatch } from './support.ts';

const MIN = 60_000;

describe('readBatchProgress', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('completion_estimates');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  /** Sets a pending batch's provider view relative to the database clock (minutes ago). */
  async function seen(
    id: number,
    view: { createdAgo: number; startedAgo?: number; checkedAgo?: number; counts?: object; jobType?: string },
  ) {
    await pool.query(
      `UPDATE batch_jobs_vp_logs SET created_at = now() - $2 * interval '1 minute',
         provider_started_at = now() - $3 * interval '1 minute', last_checked_at = now() - $4 * interval '1 minute',
         request_counts = $5::jsonb, job_type = $6 WHERE id = $1`,
      [
        id,
        view.createdAgo,
        view.startedAgo ?? null,
        view.checkedAgo ?? null,
        view.counts ? JSON.stringify(view.counts) : null,
        view.jobType ?? 'specific_viewpoint',
      ],
    );
  }

  /** Completed batches of a job type that took these many minutes each (facts, as the final trigger writes them). */
  async function history(jobType: string, minutes: number[], status = 2) {
    for (const [index, duration] of minutes.entries()) {
      await pool.query(
        `INSERT INTO monitor_batch_facts (batch_log_id, provider, job_type, model, status, created_at, landed_at,
           total_requests, succeeded, failed, prompt_tokens, completion_tokens)
         VALUES ((SELECT COALESCE(max(batch_log_id), 1000000) + 1 FROM monitor_batch_facts), 'openai', $1, 'm', $4,
           now() - interval '2 days' - $3 * interval '1 second' - $2 * interval '1 minute',
           now() - interval '2 days' - $3 * interval '1 second', 1, 1, 0, 0, 0)`,
        [jobType, duration, index, status],
      );
    }
  }

  it('estimates from the provider counts, else from the job type history, and leaves final batches out', async () => {
    await history('estimate_a', [60, 120, 180]);
    await history('estimate_a', [1], 9); // failed batches are no history of durations
    const moving = await newBatch(pool);
    await seen(moving, {
      createdAgo: 30,
      startedAgo: 20,
      checkedAgo: 10,
      counts: { total: 100, completed: 40, failed: 10 },
      jobType: 'estimate_a',
    });
    const waiting = await newBatch(pool);
    await seen(waiting, { createdAgo: 90, jobType: 'estimate_a' });
    const unknown = await newBatch(pool);
    await seen(unknown, { createdAgo: 10, jobType: 'estimate_none' });
    const final = await newBatch(pool);
    await pool.query(`UPDATE batch_jobs_vp_logs SET status = 2, results_landed_at = now() WHERE id = $1`, [
      final,
    ]);

    const { rows } = await pool.query<{ now: Date }>('SELECT now()');
    const now = rows[0]!.now.getTime();
    const progress = await readBatchProgress(pool, [moving, waiting, unknown, final, 987654321]);

    expect([...progress.keys()].sort()).toEqual([moving, waiting, unknown].sort());
    // 50 done in 10 min of work, 50 left: 10 more minutes after the check 10 minutes ago → about now.
    const movingProgress = progress.get(moving)!;
    expect(movingProgress).toMatchObject({ done: 50, total: 100, estimate: { basis: 'progress' } });
    expect(Math.abs(movingProgress.estimate!.at - now)).toBeLessThan(2000);
    // 90 minutes in: the 120 and 180 minute batches remain; median 150 min from submission → 60 min from now.
    const waitingProgress = progress.get(waiting)!;
    expect(waitingProgress).toMatchObject({ done: null, total: null, estimate: { basis: 'history' } });
    expect(Math.abs(waitingProgress.estimate!.at - (now + 60 * MIN))).toBeLessThan(2000);
    expect(progress.get(unknown)).toEqual({ batchLogId: unknown, done: null, total: null, estimate: null });
  });

  it(`takes the latest ${ESTIMATE_HISTORY_BATCHES} completed batches of the job type as its history`, async () => {
    // Older batches took 10 hours, the latest ones 1 hour: only the latest count.
    await history(
      'estimate_b',
      Array.from({ length: 5 }, () => 600),
    );
    await pool.query(`UPDATE monitor_batch_facts SET landed_at = landed_at - interval '30 days',
      created_at = created_at - interval '30 days' WHERE job_type = 'estimate_b'`);
    await history(
      'estimate_b',
      Array.from({ length: ESTIMATE_HISTORY_BATCHES }, () => 60),
    );
    const id = await newBatch(pool);
    await seen(id, { createdAgo: 5, jobType: 'estimate_b' });
    const { rows } = await pool.query<{ now: Date }>('SELECT now()');
    const estimate = (await readBatchProgress(pool, [id])).get(id)!.estimate!;
    expect(estimate.basis).toBe('history');
    expect(Math.abs(estimate.at - (rows[0]!.now.getTime() + 55 * MIN))).toBeLessThan(2000);
  });
});
