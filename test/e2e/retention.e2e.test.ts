import { seedHistory, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLandedExactlyOnce, type PipelineWorld, startPipelineWorld } from './support/tracked-batch.ts';

const DAYS = 365;
const PER_DAY = 50;
const REQUESTS_PER_DAY = 100;

interface RetentionRun {
  holder: string | null;
  last_started_at: Date | null;
  last_finished_at: Date | null;
  last_purged: Record<string, number>;
}

/**
 * A year of history purged by the monitor's retention job while the four pipeline services land a batch: the
 * purge deletes in small batches, so the batch lands exactly once meanwhile, and what the purge must keep (the
 * landed associations, the finished batches' counts, the batch landing meanwhile) stays.
 */
describe('retention, while the pipeline lands a batch', () => {
  let world: PipelineWorld;

  beforeAll(async () => {
    world = await startPipelineWorld('retention', {
      RESULTS_CHUNK_RECORDS: '250',
      MONITOR_PORT: '0',
      // Due at once (no purge has run), checked every second, in small batches with a pause between them.
      RETENTION_PURGE_INTERVAL: '1s',
      RETENTION_PURGE_BATCH_ROWS: '200',
      RETENTION_PURGE_PAUSE: '20ms',
      RETENTION_OUTBOX_DAYS: '7',
    });
    await seedHistory(world.pool, {
      days: DAYS,
      perDay: PER_DAY,
      requestsPerBatch: REQUESTS_PER_DAY,
      unpublishedOutbox: false,
    });
  });

  afterAll(async () => {
    await world?.close();
  });

  const run = async () => (await world.pool.query<RetentionRun>('SELECT * FROM retention_runs')).rows[0]!;
  const count = async (sql: string) =>
    (await world.pool.query<{ n: number }>(`SELECT count(*)::int AS n ${sql}`)).rows[0]!.n;

  it('purges the seeded year while a batch lands exactly once', async () => {
    // The seeded undelivered message goes out first (the notifier is running): then it is a year-old sent one.
    await waitFor('the seeded pending message to be sent', async () => {
      return (await count(`FROM notifications WHERE event_key = 'seed:pending' AND state = 'sent'`)) === 1;
    });
    world.pipeline.start('monitor');
    await waitFor('the purge to start', async () => (await run()).holder !== null, {
      timeoutMs: 60_000,
      intervalMs: 50,
    });

    const requests = 2000;
    const { batchLogId, providerBatchId } = await world.trackBatch(requests, 61);
    await expectLandedExactlyOnce(world, batchLogId, providerBatchId, requests);
    const { rows: landing } = await world.pool.query<{ first: Date }>(
      'SELECT min(applied_at) AS first FROM batch_result_chunks WHERE batch_log_id = $1',
      [batchLogId],
    );

    await waitFor('the purge to finish', async () => (await run()).last_finished_at !== null, {
      timeoutMs: 180_000,
      intervalMs: 200,
    });
    const finished = await run();
    // The purge was still deleting when the batch's first chunk landed.
    expect(finished.last_started_at!.getTime()).toBeLessThan(landing[0]!.first.getTime());
    expect(finished.last_finished_at!.getTime()).toBeGreaterThan(landing[0]!.first.getTime());

    expect(finished.last_purged).toEqual({
      audit_log: (DAYS - 30) * PER_DAY,
      notifications: (DAYS - 30) * PER_DAY + 1,
      webhook_deliveries: (DAYS - 30) * PER_DAY,
      alerts: (DAYS - 30) * PER_DAY,
      alert_digests: 0, // none seeded: the history predates per-rule digests
      batch_request_results: (DAYS - 30) * REQUESTS_PER_DAY,
      batch_request_ids: DAYS - 30,
      batch_request_answers: 0, // none seeded: no seeded job type keeps raw answers
      batch_job_inputs: (DAYS - 30) * REQUESTS_PER_DAY,
      outbox: (DAYS - 7) * PER_DAY,
      poller_cycles: (DAYS - 30) * PER_DAY,
    });
    // Kept: the landed associations of every seeded batch, the finished batches' counts, the batch just landed.
    expect(await count(`FROM review_sentences_wl_spec_vp WHERE batch_log_id <> ${batchLogId}`)).toBe(
      (DAYS + 1) * REQUESTS_PER_DAY,
    );
    expect(
      await count(`FROM batch_jobs_vp_logs WHERE batch_id LIKE 'seed-%' AND batch_id <> 'seed-pending'
        AND processed_sentences = ${REQUESTS_PER_DAY}`),
    ).toBe(DAYS);
    expect(await count(`FROM batch_request_results WHERE batch_log_id = ${batchLogId}`)).toBe(requests);
  });
});
