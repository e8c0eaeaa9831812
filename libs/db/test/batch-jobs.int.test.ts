import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getBatchJob,
  insertBatchJob,
  insertBatchLog,
  listBatchJobs,
  listJobBatchLogs,
  type Pool,
  readBatchJobFigures,
} from '../index.ts';

describe('batch jobs', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('batch_jobs');
    pool = db.pool;
  });
  afterAll(async () => db?.close());

  const recordBatch = async (
    jobId: number,
    batchId: string,
    place: { partIndex: number | null; parentBatchLogId: number | null; retryRound: number },
    total: number,
  ): Promise<number> => {
    const { id } = await insertBatchLog(pool, {
      provider: 'openai',
      batchId,
      model: 'gpt-test',
      totalSentences: total,
      inputFileId: null,
      firstPollDelayMs: 0,
      job: { batchJobId: jobId, ...place },
    });
    return id;
  };

  const recordOutcomes = async (batchLogId: number, outcomes: [string, 'succeeded' | 'failed'][]) => {
    for (const [customId, outcome] of outcomes) {
      await pool.query(
        `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code)
         VALUES ($1, $2, $3, $4)`,
        [batchLogId, customId, outcome, outcome === 'failed' ? 'http_500' : null],
      );
    }
  };

  it('counts each request once across parts and retry rounds', async () => {
    const jobId = await insertBatchJob(pool, {
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-test',
      origin: 'submit',
      totalRequests: 5,
      retryPolicy: { maxRounds: 2 },
    });
    const part0 = await recordBatch(
      jobId,
      `job-${jobId}-p0`,
      { partIndex: 0, parentBatchLogId: null, retryRound: 0 },
      3,
    );
    const part1 = await recordBatch(
      jobId,
      `job-${jobId}-p1`,
      { partIndex: 1, parentBatchLogId: null, retryRound: 0 },
      2,
    );
    await recordOutcomes(part0, [
      ['rs-1', 'succeeded'],
      ['rs-2', 'failed'],
      ['rs-3', 'failed'],
    ]);
    await pool.query('UPDATE batch_jobs_vp_logs SET status = 2 WHERE id = $1', [part0]);
    const retry = await recordBatch(
      jobId,
      `job-${jobId}-r1`,
      { partIndex: null, parentBatchLogId: part0, retryRound: 1 },
      2,
    );
    await recordOutcomes(retry, [
      ['rs-2', 'succeeded'],
      ['rs-3', 'failed'],
    ]);

    const [figures] = await readBatchJobFigures(pool, [jobId, 999_999]);
    expect(figures).toEqual({
      batchJobId: jobId,
      totalRequests: 5,
      succeededRequests: 2,
      failedRequests: 1,
      unresolvedRequests: 2,
      batches: 3,
      pendingBatches: 2,
      retryRounds: 1,
    });

    const batches = await listJobBatchLogs(pool, jobId);
    expect(
      batches.map((batch) => [batch.id, batch.partIndex, batch.parentBatchLogId, batch.retryRound]),
    ).toEqual([
      [part0, 0, null, 0],
      [part1, 1, null, 0],
      [retry, null, part0, 1],
    ]);
    expect(batches.every((batch) => batch.batchJobId === jobId)).toBe(true);

    const job = await getBatchJob(pool, jobId);
    expect(job).toMatchObject({
      origin: 'submit',
      totalRequests: 5,
      retryPolicy: { maxRounds: 2 },
      outcome: null,
    });
    expect((await listBatchJobs(pool, { limit: 10 })).map((listed) => listed.id)).toContain(jobId);
    expect(await listBatchJobs(pool, { limit: 10, jobType: 'review_sentiment' })).toEqual([]);
  });

  it('has no figures for a job that does not exist, and none asked for', async () => {
    expect(await readBatchJobFigures(pool, [])).toEqual([]);
    expect(await readBatchJobFigures(pool, [987_654])).toEqual([]);
    expect(await getBatchJob(pool, 987_654)).toBeNull();
  });
});
