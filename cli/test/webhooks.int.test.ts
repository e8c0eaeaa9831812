import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support.ts';

describe('batchline webhooks', () => {
  let db: MigratedTestDatabase;
  const webhooks = (...args: string[]) =>
    runCli(['webhooks', ...args], { PATH: process.env.PATH, DATABASE_URL: db.url });

  beforeAll(async () => {
    db = await migratedTestDatabase('cli_webhooks');
    await db.pool.query(
      `INSERT INTO webhook_deliveries (event_id, subject, endpoint, url_hash, job_type, body, state, attempts,
                                       last_status, last_error, delivered_at, failed_at)
       VALUES ('batch.finalized:1', 'batch.finalized', 'BATCHLINE_WEBHOOK_URL', 'webhook:aa', 'specific_viewpoint',
               '{}', 'delivered', 1, 200, NULL, now(), NULL),
              ('job.finalized:2', 'job.finalized', 'SENTIMENT_HOOK_URL', 'webhook:bb', 'review_sentiment',
               '{}', 'failed', 8, NULL, 'could not reach the endpoint: ECONNREFUSED', NULL, now())`,
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  it('lists the deliveries, filtered by state, as a table or JSON', async () => {
    const all = await webhooks();
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('batch.finalized:1');
    expect(all.stdout).toContain('job.finalized:2');

    const failed = await webhooks('--state', 'failed', '--json');
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject([
      {
        eventId: 'job.finalized:2',
        endpoint: 'SENTIMENT_HOOK_URL',
        state: 'failed',
        attempts: 8,
        lastError: 'could not reach the endpoint: ECONNREFUSED',
      },
    ]);
  });

  it('names what is wrong with a bad option', async () => {
    const bad = await webhooks('--state', 'lost');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--state must be one of pending, delivered, failed');
  });
});
