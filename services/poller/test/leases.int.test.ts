import { getBatchLog, type Pool } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ProviderCheck, recordProviderCheck, rescheduleBatch } from '../src/store/check-records.ts';
import { leaseBatch, leaseDueBatches } from '../src/store/leases.ts';
import { newBatch } from './support.ts';

describe('poller leases', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('leases');
    pool = db.pool;
  });
  afterAll(async () => db?.close());
  // Each test starts from an empty table, so "due" means exactly the batches the test created.
  beforeEach(async () => {
    await pool.query('TRUNCATE batch_jobs_vp_logs, outbox');
  });

  const expireLease = (id: number) =>
    pool.query(`UPDATE batch_jobs_vp_logs SET lease_until = now() - interval '1 second' WHERE id = $1`, [id]);

  const check = (
    id: number,
    leaseVersion: number,
    overrides: Partial<ProviderCheck> = {},
  ): ProviderCheck => ({
    id,
    leaseVersion,
    providerStatus: 'in_progress',
    requestCounts: { total: 10, completed: 4, failed: 1 },
    inputFileId: 'file-in',
    outputFileId: null,
    errorFileId: null,
    terminal: false,
    nextPollDelayMs: 60_000,
    ...overrides,
  });

  it('never hands the same batch to two pollers leasing at once', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, () => newBatch(pool)));
    for (let round = 0; round < 3; round += 1) {
      const leased = await Promise.all(
        ['a', 'b', 'c', 'd'].map((owner) => leaseDueBatches(pool, { owner, limit: 15, leaseMs: 60_000 })),
      );
      const leasedIds = leased.flat().map((batch) => batch.id);
      expect(new Set(leasedIds).size).toBe(leasedIds.length);
      // Whatever one call skipped because another held it, nothing due is left unleased.
      const rest = await leaseDueBatches(pool, { owner: 'late', limit: 100, leaseMs: 60_000 });
      expect([...leasedIds, ...rest.map((batch) => batch.id)].sort((x, y) => x - y)).toEqual(
        [...ids].sort((x, y) => x - y),
      );
      await pool.query(`UPDATE batch_jobs_vp_logs SET lease_until = now() - interval '1 second'`);
    }
  });

  it('leases due batches oldest due first, with what the poller needs', async () => {
    const later = await newBatch(pool);
    const sooner = await newBatch(pool);
    await pool.query(
      `UPDATE batch_jobs_vp_logs SET next_poll_at = now() - interval '1 minute',
         created_at = now() - interval '2 hours' WHERE id = $1`,
      [sooner],
    );
    const notDue = await newBatch(pool);
    await pool.query(`UPDATE batch_jobs_vp_logs SET next_poll_at = now() + interval '1 hour' WHERE id = $1`, [
      notDue,
    ]);

    const leased = await leaseDueBatches(pool, { owner: 'p1', limit: 10, leaseMs: 30_000 });
    expect(leased.map((batch) => batch.id)).toEqual([sooner, later]);
    expect(leased[0]).toMatchObject({
      id: sooner,
      provider: 'openai',
      providerStatus: null,
      inputFileId: 'file-in',
      outputFileId: null,
      errorFileId: null,
      pollAttempt: 0,
      leaseVersion: 1,
    });
    expect(leased[0]!.ageMs).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect(leased[0]!.ageMs).toBeLessThan(2 * 3_600_000 + 600_000);
    const row = await getBatchLog(pool, sooner);
    expect(row).toMatchObject({ leaseOwner: 'p1', leaseVersion: 1 });
    expect(row!.leaseUntil!.getTime()).toBeGreaterThan(row!.nextPollAt.getTime());
  });

  it('lets an expired lease be taken over and fences out the old holder', async () => {
    const id = await newBatch(pool);
    const [first] = await leaseDueBatches(pool, { owner: 'stalled', limit: 10, leaseMs: 60_000 });
    expect(await leaseDueBatches(pool, { owner: 'other', limit: 10, leaseMs: 60_000 })).toEqual([]);

    await expireLease(id);
    const [second] = await leaseDueBatches(pool, { owner: 'other', limit: 10, leaseMs: 60_000 });
    expect(second!.id).toBe(id);
    expect(second!.leaseVersion).toBe(first!.leaseVersion + 1);

    const staleEvent = { subject: 'batch.status.changed', msgId: 'status:stale', payload: { stale: true } };
    expect(
      await recordProviderCheck(
        pool,
        check(id, first!.leaseVersion, { providerStatus: 'completed', event: staleEvent }),
      ),
    ).toBe(false);
    expect(
      await rescheduleBatch(pool, {
        id,
        leaseVersion: first!.leaseVersion,
        nextPollDelayMs: 1,
        lastError: 'x',
      }),
    ).toBe(false);
    expect(await getBatchLog(pool, id)).toMatchObject({
      providerStatus: null,
      pollAttempt: 0,
      leaseOwner: 'other',
    });
    expect((await pool.query('SELECT * FROM outbox')).rowCount).toBe(0);

    const event = {
      subject: 'batch.status.changed',
      msgId: 'status:1',
      payload: { batchLogId: id, providerStatus: 'in_progress' },
      headers: { traceparent: '00-abc-def-01' },
    };
    expect(await recordProviderCheck(pool, check(id, second!.leaseVersion, { event }))).toBe(true);
    expect(await getBatchLog(pool, id)).toMatchObject({
      providerStatus: 'in_progress',
      requestCounts: { total: 10, completed: 4, failed: 1 },
      pollAttempt: 1,
      leaseOwner: null,
      leaseUntil: null,
      providerTerminalAt: null,
    });
    const outbox = await pool.query('SELECT subject, msg_id, payload, headers FROM outbox');
    expect(outbox.rows).toEqual([
      {
        subject: 'batch.status.changed',
        msg_id: 'status:1',
        payload: { batchLogId: id, providerStatus: 'in_progress' },
        headers: { traceparent: '00-abc-def-01' },
      },
    ]);
    // The next check is a minute away: not due now.
    expect(await leaseDueBatches(pool, { owner: 'other', limit: 10, leaseMs: 60_000 })).toEqual([]);
  });

  it('stamps provider_terminal_at once and stops offering the batch as due', async () => {
    const id = await newBatch(pool);
    const [lease] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
    expect(
      await recordProviderCheck(
        pool,
        check(id, lease!.leaseVersion, {
          providerStatus: 'completed',
          outputFileId: 'file-out',
          errorFileId: 'file-err',
          terminal: true,
          nextPollDelayMs: 0,
          logDetails: { providerStatus: 'completed' },
        }),
      ),
    ).toBe(true);
    const terminalAt = (await getBatchLog(pool, id))!.providerTerminalAt;
    expect(terminalAt).toBeInstanceOf(Date);
    expect(await leaseDueBatches(pool, { owner: 'p', limit: 10, leaseMs: 60_000 })).toEqual([]);

    // A manual re-check still works, keeps the first stamp and the known file ids.
    const manual = await leaseBatch(pool, id, { owner: 'cli', leaseMs: 60_000 });
    expect(manual).toMatchObject({ id, outputFileId: 'file-out', leaseVersion: lease!.leaseVersion + 1 });
    expect(
      await recordProviderCheck(
        pool,
        check(id, manual!.leaseVersion, { terminal: true, providerStatus: 'completed' }),
      ),
    ).toBe(true);
    expect(await getBatchLog(pool, id)).toMatchObject({
      providerTerminalAt: terminalAt,
      outputFileId: 'file-out',
      errorFileId: 'file-err',
      pollAttempt: 2,
      logDetails: { providerStatus: 'completed' },
    });
  });

  it('leases one batch on demand unless another owner holds it or it is final', async () => {
    const id = await newBatch(pool);
    await pool.query(`UPDATE batch_jobs_vp_logs SET next_poll_at = now() + interval '1 hour' WHERE id = $1`, [
      id,
    ]);

    const mine = await leaseBatch(pool, id, { owner: 'cli', leaseMs: 60_000 });
    expect(mine).toMatchObject({ id, leaseVersion: 1 });
    expect(await leaseBatch(pool, id, { owner: 'poller', leaseMs: 60_000 })).toBeNull();
    expect(await leaseBatch(pool, id, { owner: 'cli', leaseMs: 60_000 })).toMatchObject({ leaseVersion: 2 });
    await expireLease(id);
    expect(await leaseBatch(pool, id, { owner: 'poller', leaseMs: 60_000 })).toMatchObject({
      leaseVersion: 3,
    });
    expect(await leaseBatch(pool, 123_456_789, { owner: 'cli', leaseMs: 60_000 })).toBeNull();
  });

  it('never leases a final batch', async () => {
    const completed = await newBatch(pool);
    const failed = await newBatch(pool);
    await pool.query('UPDATE batch_jobs_vp_logs SET status = 2 WHERE id = $1', [completed]);
    await pool.query('UPDATE batch_jobs_vp_logs SET status = 9 WHERE id = $1', [failed]);

    expect(await leaseDueBatches(pool, { owner: 'p', limit: 10, leaseMs: 60_000 })).toEqual([]);
    expect(await leaseBatch(pool, completed, { owner: 'cli', leaseMs: 60_000 })).toBeNull();
    expect(await leaseBatch(pool, failed, { owner: 'cli', leaseMs: 60_000 })).toBeNull();
  });

  it('reschedules after a failed check, keeping the error without secrets', async () => {
    const id = await newBatch(pool);
    const [lease] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
    expect(
      await rescheduleBatch(pool, {
        id,
        leaseVersion: lease!.leaseVersion,
        nextPollDelayMs: 3_600_000,
        lastError: 'upstream said 401 for key sk-abcdefghijklmnop',
      }),
    ).toBe(true);
    const row = await getBatchLog(pool, id);
    expect(row).toMatchObject({ leaseOwner: null, leaseUntil: null, pollAttempt: 0 });
    expect(row!.lastPollError).toContain('401');
    expect(row!.lastPollError).not.toContain('sk-abcdefghijklmnop');
    expect(row!.lastPollErrorAt).toBeInstanceOf(Date);
    expect(await leaseDueBatches(pool, { owner: 'p', limit: 10, leaseMs: 60_000 })).toEqual([]);

    // The next successful check clears it.
    const manual = await leaseBatch(pool, id, { owner: 'cli', leaseMs: 60_000 });
    await recordProviderCheck(pool, check(id, manual!.leaseVersion));
    expect(await getBatchLog(pool, id)).toMatchObject({ lastPollError: null, lastPollErrorAt: null });
  });
});
