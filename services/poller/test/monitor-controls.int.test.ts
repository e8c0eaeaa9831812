import type { Pool } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordProviderCheck } from '../src/store/check-records.ts';
import { leaseDueBatches } from '../src/store/leases.ts';
import { newBatch } from './support.ts';

// The monitor's polling controls (priority, a batch's pause, the pause of all polling: columns of migration 0002)
// as the poller's lease meets them, and the start stamp its status check leaves; the monitor's statements that
// set them are tested in services/monitor/test/store.int.test.ts.
describe('the monitor’s polling controls, as the poller leases', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  // What the monitor's controls write, as plain SQL (the poller does not know the monitor).
  const setPollingPaused = (paused: boolean) =>
    pool.query('UPDATE polling_control SET paused = $1', [paused]);
  const setBatch = (id: number, column: 'poll_priority' | 'polling_paused', value: number | boolean) =>
    pool.query(`UPDATE batch_jobs_vp_logs SET ${column} = $2 WHERE id = $1`, [id, value]);

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_schema');
    pool = db.pool;
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    await pool.query(
      'TRUNCATE batch_jobs_vp_logs, outbox, batch_retries, monitor_batch_facts, monitor_batch_errors',
    );
    await setPollingPaused(false);
  });

  const leasedIds = async () =>
    (await leaseDueBatches(pool, { owner: 'p', limit: 100, leaseMs: 60_000 })).map((batch) => batch.id);

  it('leases higher-priority batches first, then the oldest due', async () => {
    const oldest = await newBatch(pool);
    const middle = await newBatch(pool);
    const urgent = await newBatch(pool);
    // Due for 3, 2 and 1 minutes: without priorities the oldest would come first.
    for (const [id, minutes] of [
      [oldest, 3],
      [middle, 2],
      [urgent, 1],
    ] as const) {
      await pool.query(
        `UPDATE batch_jobs_vp_logs SET next_poll_at = now() - $2::int * interval '1 minute' WHERE id = $1`,
        [id, minutes],
      );
    }
    await setBatch(urgent, 'poll_priority', 50);

    const [first] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
    expect(first!.id).toBe(urgent);
    expect(await leasedIds()).toEqual([oldest, middle]);
  });

  it('skips a paused batch, and every batch while polling is paused as a whole', async () => {
    const paused = await newBatch(pool);
    const running = await newBatch(pool);
    await setBatch(paused, 'polling_paused', true);

    await setPollingPaused(true);
    expect(await leasedIds()).toEqual([]);

    await setPollingPaused(false);
    expect(await leasedIds()).toEqual([running]);

    await pool.query(`UPDATE batch_jobs_vp_logs SET lease_until = NULL`);
    await setBatch(paused, 'polling_paused', false);
    expect((await leasedIds()).sort()).toEqual([paused, running].sort());
  });

  it('notes when a status check first found the provider working', async () => {
    const id = await newBatch(pool);
    const started = async () =>
      (await pool.query('SELECT provider_started_at FROM batch_jobs_vp_logs WHERE id = $1', [id])).rows[0]
        .provider_started_at as Date | null;
    const check = async (providerStatus: string) => {
      const [lease] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
      await recordProviderCheck(pool, {
        id,
        leaseVersion: lease!.leaseVersion,
        providerStatus,
        requestCounts: null,
        inputFileId: null,
        outputFileId: null,
        errorFileId: null,
        terminal: false,
        nextPollDelayMs: 0,
      });
    };
    await check('validating');
    expect(await started()).toBeNull();
    await check('in_progress');
    const first = await started();
    expect(first).toBeInstanceOf(Date);
    await check('finalizing');
    expect(await started()).toEqual(first);
  });
});
