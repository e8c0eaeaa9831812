import { type Pool, withTransaction } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimAlertWindow } from '../src/store/alerts.ts';
import { appendAuditRecord } from '../src/store/audit.ts';
import { claimRetry, completeRetry, releaseRetry } from '../src/store/batch-retries.ts';
import {
  getPollingState,
  setBatchPollingPaused,
  setBatchPollPriority,
  setPollingPaused,
} from '../src/store/polling-control.ts';
import { failed, landSeedResults, ok, seedBatch } from './support.ts';

/** The monitor's own tables and statements over migration 0002's schema. */
describe('monitor store (migration 0002)', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_store');
    pool = db.pool;
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    await pool.query(
      'TRUNCATE batch_jobs_vp_logs, outbox, batch_retries, monitor_batch_facts, monitor_batch_errors',
    );
    await setPollingPaused(pool, false, 'test');
  });

  const pendingBatch = (totalRequests = 0) =>
    seedBatch(pool, {
      name: 'pending',
      ageMinutes: 1,
      model: 'gpt-test',
      state: 'pending',
      totalRequests,
      results: [],
    });

  it('pauses and reprioritises a pending batch, and polling as a whole', async () => {
    const id = await pendingBatch();
    expect(await setBatchPollPriority(pool, id, 50)).toBe('changed');
    expect(await setBatchPollingPaused(pool, id, true)).toBe('changed');
    const { rows } = await pool.query(
      'SELECT poll_priority, polling_paused FROM batch_jobs_vp_logs WHERE id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ poll_priority: 50, polling_paused: true });

    await setPollingPaused(pool, true, 'operator#1');
    expect(await getPollingState(pool)).toMatchObject({
      paused: true,
      changedBy: 'operator#1',
      pausedBatches: 1,
    });
    expect(await setBatchPollingPaused(pool, id, false)).toBe('changed');
    expect((await getPollingState(pool)).pausedBatches).toBe(0);
  });

  it('refuses to pause or reprioritise a final or unknown batch', async () => {
    const id = await seedBatch(pool, {
      name: 'completed',
      ageMinutes: 1,
      model: 'gpt-test',
      state: 'completed',
      results: [ok(10, 3)],
    });
    expect(await setBatchPollingPaused(pool, id, true)).toBe('final');
    expect(await setBatchPollPriority(pool, id, 10)).toBe('final');
    expect(await setBatchPollPriority(pool, id + 1000, 10)).toBe('not_found');
  });

  it('records the facts of a batch in the transaction that makes it final', async () => {
    const id = await seedBatch(pool, {
      name: 'expired',
      ageMinutes: 1,
      model: 'gpt-test',
      state: 'processing',
      totalRequests: 4,
      results: [ok(100, 7), ok(120, 5)],
    });
    expect((await pool.query('SELECT 1 FROM monitor_batch_facts')).rowCount).toBe(0);
    await landSeedResults(pool, id, [failed('invalid_content', 90, 30), failed('missing_result')], {
      firstSentence: 3,
      finalState: 'failed',
    });

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
    const id = await seedBatch(pool, {
      name: 'failed',
      ageMinutes: 1,
      model: 'gpt-test',
      state: 'failed',
      results: [failed('server_error')],
    });
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
    const retryId = await pendingBatch(1);
    await completeRetry(pool, id, retryId, ['rs-1']);
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
