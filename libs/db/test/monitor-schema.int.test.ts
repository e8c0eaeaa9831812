import { BatchStatus } from '@batchline/domain';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendAuditRecord,
  applyResultsChunk,
  claimAlertWindow,
  claimRetry,
  completeRetry,
  type Pool,
  releaseRetry,
  setBatchPollingPaused,
  setBatchPollPriority,
  setPollingPaused,
  withTransaction,
} from '../index.ts';
import { chunksOf, failed, newBatch, succeeded, summaryOf } from './support.ts';

/**
 * Leases what a poller would lease now, in its order (the poller's lease query, which this test cannot import):
 * due pending batches not held back by their own pause, a pause of all polling or of their provider, the
 * highest poll priority first, then the oldest due.
 */
async function leaseDueBatches(
  pool: Pool,
  { owner, limit, leaseMs }: { owner: string; limit: number; leaseMs: number },
): Promise<{ id: number; leaseVersion: number }[]> {
  const { rows } = await pool.query<{ id: string; lease_version: string }>(
    `WITH due AS (
       SELECT id FROM batch_jobs_vp_logs
       WHERE status = ${BatchStatus.pending} AND provider_terminal_at IS NULL AND next_poll_at <= now()
         AND (lease_until IS NULL OR lease_until <= now())
         AND NOT polling_paused
         AND NOT EXISTS (SELECT 1 FROM polling_control WHERE paused)
         AND NOT EXISTS (SELECT 1 FROM provider_pauses p
                         WHERE p.provider = batch_jobs_vp_logs.provider AND (p.needs_probe OR p.paused_until > now()))
       ORDER BY poll_priority DESC, next_poll_at
       LIMIT $2
       FOR UPDATE SKIP LOCKED
     ), leased AS (
       UPDATE batch_jobs_vp_logs b
       SET lease_owner = $1, lease_until = now() + $3::float8 * interval '1 millisecond', lease_version = lease_version + 1
       FROM due WHERE b.id = due.id
       RETURNING b.id, b.lease_version, b.poll_priority, b.next_poll_at
     )
     SELECT id, lease_version FROM leased ORDER BY poll_priority DESC, next_poll_at, id`,
    [owner, limit, leaseMs],
  );
  return rows.map((row) => ({ id: Number(row.id), leaseVersion: Number(row.lease_version) }));
}

describe('monitor schema (migration 0002)', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_schema');
    pool = db.pool;
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    await pool.query(
      'TRUNCATE batch_jobs_vp_logs, outbox, batch_retries, monitor_batch_facts, monitor_batch_errors',
    );
    await setPollingPaused(pool, false, 'test');
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
    expect(await setBatchPollPriority(pool, urgent, 50)).toBe('changed');

    const [first] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
    expect(first!.id).toBe(urgent);
    expect(await leasedIds()).toEqual([oldest, middle]);
  });

  it('skips a paused batch, and every batch while polling is paused as a whole', async () => {
    const paused = await newBatch(pool);
    const running = await newBatch(pool);
    expect(await setBatchPollingPaused(pool, paused, true)).toBe('changed');

    await setPollingPaused(pool, true, 'operator#1');
    expect(await leasedIds()).toEqual([]);

    await setPollingPaused(pool, false, 'operator#1');
    expect(await leasedIds()).toEqual([running]);

    await pool.query(`UPDATE batch_jobs_vp_logs SET lease_until = NULL`);
    expect(await setBatchPollingPaused(pool, paused, false)).toBe('changed');
    expect((await leasedIds()).sort()).toEqual([paused, running].sort());
  });

  it('refuses to pause or reprioritise a final or unknown batch', async () => {
    const id = await newBatch(pool, 1);
    for (const chunk of chunksOf(id, [[succeeded(1, [1])]])) await applyResultsChunk(pool, chunk);
    expect(await setBatchPollingPaused(pool, id, true)).toBe('final');
    expect(await setBatchPollPriority(pool, id, 10)).toBe('final');
    expect(await setBatchPollPriority(pool, id + 1000, 10)).toBe('not_found');
  });

  it('notes when a status check first found the provider working', async () => {
    const id = await newBatch(pool);
    const started = async () =>
      (await pool.query('SELECT provider_started_at FROM batch_jobs_vp_logs WHERE id = $1', [id])).rows[0]
        .provider_started_at as Date | null;
    const check = async (providerStatus: string) => {
      const [lease] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
      // What the poller's write-back of a check changes here: the provider status, its lease, the next check.
      await pool.query(
        `UPDATE batch_jobs_vp_logs SET provider_status = $3, lease_owner = NULL, lease_until = NULL,
           next_poll_at = now() WHERE id = $1 AND lease_version = $2`,
        [id, lease!.leaseVersion, providerStatus],
      );
    };
    await check('validating');
    expect(await started()).toBeNull();
    await check('in_progress');
    const first = await started();
    expect(first).toBeInstanceOf(Date);
    await check('finalizing');
    expect(await started()).toEqual(first);
  });

  it('records the facts of a batch in the transaction that makes it final', async () => {
    const id = await newBatch(pool, 4);
    const records = [
      { ...succeeded(1, [1]), promptTokens: 100, completionTokens: 7 },
      { ...succeeded(2, []), promptTokens: 120, completionTokens: 5 },
      { ...failed(3, 'invalid_content'), promptTokens: 90, completionTokens: 30 },
      failed(4, 'missing_result'),
    ];
    const chunks = chunksOf(
      id,
      [records.slice(0, 2), records.slice(2)],
      summaryOf({ finalStatus: 9, reason: 'expired' }),
    );
    await applyResultsChunk(pool, chunks[0]!);
    expect((await pool.query('SELECT 1 FROM monitor_batch_facts')).rowCount).toBe(0);
    await applyResultsChunk(pool, chunks[1]!);

    const facts = await pool.query('SELECT * FROM monitor_batch_facts WHERE batch_log_id = $1', [id]);
    expect(facts.rows[0]).toMatchObject({
      status: 9,
      job_type: 'specific_viewpoint',
      model: 'gpt-test',
      total_requests: 4,
      succeeded: 2,
      failed: 2,
      prompt_tokens: '310',
      completion_tokens: '42',
    });
    const errors = await pool.query(
      'SELECT error_code, requests FROM monitor_batch_errors WHERE batch_log_id = $1 ORDER BY error_code',
      [id],
    );
    expect(errors.rows).toEqual([
      { error_code: 'invalid_content', requests: 1 },
      { error_code: 'missing_result', requests: 1 },
    ]);
  });

  it('keeps audit_log append-only', async () => {
    const id = await appendAuditRecord(pool, {
      actor: 'operator#1',
      action: 'batch.cancel',
      outcome: 'success',
    });
    await expect(pool.query(`UPDATE audit_log SET outcome = 'failed' WHERE id = $1`, [id])).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query('DELETE FROM audit_log WHERE id = $1', [id])).rejects.toThrow(/append-only/);
  });

  it('lets exactly one of several concurrent retry claims through, and a released claim be taken again', async () => {
    const id = await newBatch(pool, 1);
    for (const chunk of chunksOf(id, [[failed(1, 'server_error')]])) await applyResultsChunk(pool, chunk);
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withTransaction(pool, (client) => claimRetry(client, id, `operator#${i}`, 60_000)),
      ),
    );
    expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
    expect(claims.filter((claim) => !claim.claimed && claim.reason === 'already_retried')).toHaveLength(7);

    await releaseRetry(pool, id);
    expect(await withTransaction(pool, (client) => claimRetry(client, id, 'operator#1', 60_000))).toEqual({
      claimed: true,
    });
    const retryId = await newBatch(pool, 1);
    await completeRetry(pool, id, retryId, 1);
    expect(await withTransaction(pool, (client) => claimRetry(client, id, 'operator#1', 0))).toEqual({
      claimed: false,
      reason: 'already_retried',
      state: 'submitted',
      retryBatchLogId: retryId,
    });
    expect(await withTransaction(pool, (client) => claimRetry(client, retryId, 'operator#1', 0))).toEqual({
      claimed: false,
      reason: 'not_final',
    });
  });

  it('opens one alert window per condition until it runs out', async () => {
    await pool.query('UPDATE alert_state SET last_raised_at = NULL');
    const claims = await Promise.all(
      Array.from({ length: 5 }, () => claimAlertWindow(pool, 'high_error_rate', 3_600_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await claimAlertWindow(pool, 'stuck_batches', 3_600_000)).toBe(true);
    await pool.query(`UPDATE alert_state SET last_raised_at = now() - interval '2 hours'`);
    expect(await claimAlertWindow(pool, 'high_error_rate', 3_600_000)).toBe(true);
  });
});
