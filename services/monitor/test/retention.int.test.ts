import { loadSettings } from '@batchline/config';
import type { Pool } from '@batchline/db';
import { createServiceRegistry, type Registry } from '@batchline/metrics';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  seedHistory,
  silentLogger,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RetentionJob, startRetentionJob } from '../src/retention/job.ts';
import { purgePlan } from '../src/retention/plan.ts';
import { monitorSettings } from '../src/settings.ts';

const DAYS = 365;
const PER_DAY = 4;
const REQUESTS = 5;
/** Audit records are kept 90 days, the outbox 7, everything else the default 30. */
const config = loadSettings(monitorSettings, { RETENTION_AUDIT_LOG_DAYS: '90', RETENTION_OUTBOX_DAYS: '7' });

describe('the retention purge (migration 0009)', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;
  const jobs: RetentionJob[] = [];
  const registries: Registry[] = [];

  const job = (holder: string, overrides: { intervalMs?: number } = {}) => {
    const metrics = createServiceRegistry('monitor');
    registries.push(metrics);
    const started = startRetentionJob({
      pool,
      log: silentLogger,
      metrics,
      holder,
      plan: purgePlan(config),
      intervalMs: overrides.intervalMs ?? 86_400_000,
      batchRows: 500,
      pauseMs: 1,
      // Tests run each purge themselves (runOnce); the periodic check waits for an hour.
      checkEveryMs: 3_600_000,
    });
    jobs.push(started);
    return started;
  };
  const count = async (sql: string) =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n ${sql}`)).rows[0]!.n;
  const olderThan = (table: string, column: string, days: number) =>
    count(`FROM ${table} WHERE ${column} < now() - interval '${days} days'`);

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_retention');
    pool = db.pool;
    await seedHistory(pool, { days: DAYS, perDay: PER_DAY, requestsPerBatch: REQUESTS });
  });
  afterAll(async () => {
    await Promise.all(jobs.map((j) => j.stop()));
    await db?.close();
  });

  it('runs on one replica at a time, and not again before its interval', async () => {
    const [first, second] = await Promise.all([job('replica-a').runOnce(), job('replica-b').runOnce()]);
    expect([first, second].filter((purged) => purged !== null)).toHaveLength(1);
    expect(await job('replica-c').runOnce()).toBeNull();
    const { rows } = await pool.query('SELECT holder, last_finished_at, last_purged FROM retention_runs');
    expect(rows[0]).toMatchObject({ holder: null, last_finished_at: expect.any(Date) });
    expect(rows[0].last_purged).toEqual(first ?? second);
  });

  it('purged every family past its retention, in batches, and kept everything younger', async () => {
    // Seeded days 0 … 364: a family kept N days keeps days 0 … N-1 (day N was N days old before the purge ran).
    expect(await olderThan('audit_log', 'at', 90)).toBe(0);
    expect(await count(`FROM audit_log`)).toBe(90 * PER_DAY);
    expect(await olderThan('notifications', 'occurred_at', 30)).toBe(1); // the pending one
    expect(await count(`FROM notifications WHERE state = 'sent'`)).toBe(30 * PER_DAY);
    expect(await olderThan('alerts', 'raised_at', 30)).toBe(0);
    expect(await count('FROM alerts')).toBe(30 * PER_DAY);
    expect(await olderThan('poller_cycles', 'started_at', 30)).toBe(0);
    expect(await count('FROM poller_cycles')).toBe(30 * PER_DAY);
    expect(await olderThan('webhook_deliveries', 'updated_at', 30)).toBe(1); // the pending one
    expect(await count(`FROM webhook_deliveries WHERE state = 'delivered'`)).toBe(30 * PER_DAY);
    expect(await olderThan('outbox', 'created_at', 7)).toBe(1); // the unpublished one
    expect(await count('FROM outbox WHERE published_at IS NOT NULL')).toBe(7 * PER_DAY);
  });

  it('forgot the requests of batches final for over 30 days, not their counts, associations or pending batches', async () => {
    const requestsLeft =
      await count(`FROM batch_request_results r JOIN batch_jobs_vp_logs b ON b.id = r.batch_log_id
      WHERE b.updated_at < now() - interval '30 days' AND b.batch_id <> 'seed-pending'`);
    expect(requestsLeft).toBe(0);
    // 30 days of finished batches (days 0 … 29) and the pending batch keep their outcomes and request ids.
    expect(await count('FROM batch_request_results')).toBe(31 * REQUESTS);
    expect(await count('FROM batch_request_ids')).toBe(31);
    // Recorded inputs of jobs finalized over 30 days ago are gone; the running job keeps its own.
    expect(await count('FROM batch_job_inputs')).toBe(31 * REQUESTS);
    expect(
      await count(
        `FROM batch_job_inputs i JOIN batch_jobs j ON j.id = i.batch_job_id WHERE j.finalized_at IS NULL`,
      ),
    ).toBe(REQUESTS);
    expect(await count('FROM review_sentences_wl_spec_vp')).toBe((DAYS + 1) * REQUESTS);
    expect(await count('FROM batch_jobs_vp_logs')).toBe(DAYS + 1);
    expect(
      await count(
        `FROM batch_jobs_vp_logs WHERE batch_id <> 'seed-pending' AND processed_sentences <> ${REQUESTS}`,
      ),
    ).toBe(0);
  });

  it('counted the purged rows by family and table', async () => {
    const samples = (
      await Promise.all(
        registries.map(
          async (r) =>
            (await r.getSingleMetric('batchline_retention_purged_rows_total')?.get())?.values ?? [],
        ),
      )
    ).flat();
    const total = (table: string) =>
      samples.filter((s) => s.labels.table === table).reduce((sum, s) => sum + s.value, 0);
    expect(total('audit_log')).toBe((DAYS - 90) * PER_DAY);
    expect(total('batch_request_results')).toBe((DAYS - 30) * REQUESTS);
    expect(total('outbox')).toBe((DAYS - 7) * PER_DAY);
    expect(samples.find((s) => s.labels.table === 'alerts')?.labels.family).toBe('alerts');
  });

  it('leaves the audit log append-only outside a purge, and inside one below its cutoff only', async () => {
    await expect(pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    await expect(pool.query(`UPDATE audit_log SET actor = 'x'`)).rejects.toThrow(/append-only/);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `SELECT set_config('batchline.retention_cutoff', (now() - interval '60 days')::text, true)`,
      );
      await expect(client.query(`DELETE FROM audit_log WHERE at > now() - interval '1 day'`)).rejects.toThrow(
        /append-only/,
      );
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('still takes outcomes deleted outside a purge (a replay) off their batch counts', async () => {
    const { rows } = await pool.query<{ id: string }>(
      `SELECT id FROM batch_jobs_vp_logs WHERE batch_id = 'seed-0'`,
    );
    await pool.query('DELETE FROM batch_request_results WHERE batch_log_id = $1', [rows[0]!.id]);
    expect(await count(`FROM batch_jobs_vp_logs WHERE batch_id = 'seed-0' AND processed_sentences = 0`)).toBe(
      1,
    );
  });

  it('purges again once its interval has passed', async () => {
    await pool.query(`UPDATE retention_runs SET last_finished_at = now() - interval '2 days'`);
    await pool.query(`INSERT INTO alerts (condition, severity, message, value, threshold, channels, window_ms, raised_at)
      VALUES ('high_error_rate', 'high', 'old', 1, 1, '{slack}', 1, now() - interval '40 days')`);
    expect(await job('replica-d').runOnce()).toMatchObject({ alerts: 1, audit_log: 0 });
  });
});
