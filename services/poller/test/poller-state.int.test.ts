import type { Pool } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordProviderCheck } from '../src/store/check-records.ts';
import { leaseDueBatches, nextDueDelayMs } from '../src/store/leases.ts';
import {
  claimProviderProbes,
  getProviderPause,
  pauseProvider,
  resumeProvider,
} from '../src/store/provider-pauses.ts';
import { newBatch } from './support.ts';

describe('poller state: provider pauses, due times and the end stamps', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = await migratedTestDatabase('poller_state');
    pool = db.pool;
  });
  afterAll(async () => db?.close());
  beforeEach(async () => {
    await pool.query('TRUNCATE batch_jobs_vp_logs, outbox, provider_pauses');
  });

  const announce = (n: number) => () => ({ subject: 'test.paused', msgId: `paused:${n}`, payload: { n } });

  it('starts a pause once however many replicas pause at the same time, and announces it once', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        pauseProvider(pool, {
          provider: 'openai',
          kind: 'rate_limited',
          pauseMs: 60_000,
          reason: 'r',
          announce: announce(n),
        }),
      ),
    );
    expect(results.filter((r) => r.started)).toHaveLength(1);
    expect((await pool.query('SELECT * FROM outbox')).rowCount).toBe(1);
  });

  it('extends a pause but never shortens it, and never turns a probe-ended pause into a timed one', async () => {
    const long = await pauseProvider(pool, {
      provider: 'openai',
      kind: 'rate_limited',
      pauseMs: 600_000,
      reason: 'long',
    });
    const short = await pauseProvider(pool, {
      provider: 'openai',
      kind: 'rate_limited',
      pauseMs: 1_000,
      reason: 'short',
    });
    expect(short.started).toBe(false);
    expect(short.pause.pausedUntil).toEqual(long.pause.pausedUntil);

    const auth = await pauseProvider(pool, {
      provider: 'openai',
      kind: 'auth',
      pauseMs: 1_000,
      reason: 'key revoked',
    });
    expect(auth.pause).toMatchObject({ kind: 'auth', needsProbe: true, reason: 'key revoked' });
    const later = await pauseProvider(pool, {
      provider: 'openai',
      kind: 'rate_limited',
      pauseMs: 1_000,
      reason: '429',
    });
    expect(later.pause).toMatchObject({ kind: 'auth', needsProbe: true });
    expect(await getProviderPause(pool, 'anthropic')).toBeNull();
  });

  it('holds back only the paused provider’s batches, and lets a lapsed rate limit go by itself', async () => {
    const openai = await newBatch(pool);
    await pauseProvider(pool, { provider: 'openai', kind: 'rate_limited', pauseMs: 60_000, reason: '429' });
    expect(await leaseDueBatches(pool, { owner: 'p', limit: 10, leaseMs: 1_000 })).toEqual([]);
    expect(await nextDueDelayMs(pool)).toBeNull();
    await pool.query(`UPDATE provider_pauses SET paused_until = now() - interval '1 second'`);
    expect(await getProviderPause(pool, 'openai')).toBeNull();
    expect((await leaseDueBatches(pool, { owner: 'p', limit: 10, leaseMs: 1_000 })).map((b) => b.id)).toEqual(
      [openai],
    );
  });

  it('gives each due probe to one replica, and resumes on request', async () => {
    await pauseProvider(pool, { provider: 'anthropic', kind: 'auth', pauseMs: 1, reason: '401' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const claims = await Promise.all([1, 2, 3].map(() => claimProviderProbes(pool, 60_000)));
    expect(claims.flat()).toHaveLength(1);
    expect(claims.flat()[0]).toMatchObject({ provider: 'anthropic', probes: 1 });
    expect(await claimProviderProbes(pool, 60_000)).toEqual([]);
    expect(await resumeProvider(pool, 'anthropic')).toMatchObject({ kind: 'auth' });
    expect(await resumeProvider(pool, 'anthropic')).toBeNull();
  });

  it('says how long until the next batch falls due', async () => {
    expect(await nextDueDelayMs(pool)).toBeNull();
    const id = await newBatch(pool);
    await pool.query(
      `UPDATE batch_jobs_vp_logs SET next_poll_at = now() + interval '5 seconds' WHERE id = $1`,
      [id],
    );
    const delay = await nextDueDelayMs(pool);
    expect(delay).toBeGreaterThan(4_000);
    expect(delay).toBeLessThanOrEqual(5_000);
  });

  it('sets each end stamp once: provider terminal, results landed, final notified', async () => {
    const id = await newBatch(pool);
    const [lease] = await leaseDueBatches(pool, { owner: 'p', limit: 1, leaseMs: 60_000 });
    await recordProviderCheck(pool, {
      id,
      leaseVersion: lease!.leaseVersion,
      providerStatus: 'completed',
      requestCounts: null,
      inputFileId: null,
      outputFileId: 'file-out',
      errorFileId: null,
      terminal: true,
      nextPollDelayMs: 0,
    });
    await pool.query(
      'UPDATE batch_jobs_vp_logs SET status = 2, results_landed_at = now(), final_notified_at = now() WHERE id = $1',
      [id],
    );
    for (const stamp of ['provider_terminal_at', 'results_landed_at', 'final_notified_at']) {
      await expect(
        pool.query(`UPDATE batch_jobs_vp_logs SET ${stamp} = now() + interval '1 hour' WHERE id = $1`, [id]),
      ).rejects.toThrow(/set once/);
      await expect(
        pool.query(`UPDATE batch_jobs_vp_logs SET ${stamp} = NULL WHERE id = $1`, [id]),
      ).rejects.toThrow(/set once/);
    }
  });
});
