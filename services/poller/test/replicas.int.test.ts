import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, connectBus } from '@batchline/bus';
import { insertBatchLog, type Pool } from '@batchline/db';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { createOpenAIProvider } from '@batchline/providers';
import { type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  pipelineEnv,
  silentLogger,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BATCHES = 120;

describe('three poller replicas, one killed midway', () => {
  let db: MigratedTestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let bus: Bus;
  let dir: string;
  const namespace = testNamespace('replicas');
  const pollers: ServiceProcess[] = [];
  const providerBatchIds = new Map<number, string>();

  beforeAll(async () => {
    db = await migratedTestDatabase('poller_replicas');
    pool = db.pool;
    // Batches stay in progress for the whole test: each is due exactly once (the schedule's step is an hour).
    emulator = await startEmulator({ clock: { validatingMs: 0, inProgressMs: 3_600_000, finalizingMs: 0 } });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'replicas-test', namespace, log: silentLogger });
    await bus.ensureTopology();
    dir = await mkdtemp(join(tmpdir(), 'batchline-replicas-'));
    const input = join(dir, 'input.jsonl');
    await writeFile(
      input,
      `${JSON.stringify({ custom_id: 'rs-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] } })}\n`,
    );
    const provider = createOpenAIProvider({ apiKey: 'sk-replicas-000000000000', baseURL: emulator.baseUrl });
    for (let i = 0; i < BATCHES; i += 1) {
      const batch = await provider.uploadAndCreateBatch({
        inputPath: input,
        endpoint: '/v1/chat/completions',
      });
      const { id } = await insertBatchLog(pool, {
        provider: 'openai',
        batchId: batch.id,
        model: 'm',
        totalSentences: 1,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: 60_000,
      });
      providerBatchIds.set(id, batch.id);
    }
  });

  afterAll(async () => {
    await Promise.all(pollers.map((poller) => poller.stop(10_000)));
    await bus?.deleteTopology();
    await bus?.drain();
    await emulator?.close();
    await db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('checks every due batch exactly once between them, and takes over the leases of the killed one', async () => {
    // Every status call takes a while, so that the replicas overlap and one dies with checks in flight.
    emulator.injectHttpFault({ method: 'GET', path: /^\/v1\/batches\/batch_/, delayMs: 40, times: Infinity });
    const env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      extra: {
        POLL_SCHEDULE: '1h',
        POLL_CHUNK: '4',
        POLL_TICK: '100ms',
        POLL_LEASE: '2s',
        LOG_LEVEL: 'info',
      },
    });
    const started = new Set<number>();
    for (let i = 0; i < 3; i += 1) {
      const poller: ServiceProcess = spawnServiceProcess({
        name: 'poller',
        env,
        onLine: (line) => {
          if (line.includes('poller started')) started.add(poller.pid);
        },
      });
      pollers.push(poller);
    }
    await waitFor('three pollers started', () => started.size === 3, { timeoutMs: 60_000 });
    const checkedBy = async () => {
      const { rows } = await pool.query<{ owner: string; n: number }>(
        `SELECT last_checked_by AS owner, count(*)::int AS n FROM batch_jobs_vp_logs
         WHERE poll_attempt > 0 GROUP BY 1`,
      );
      return rows;
    };
    const checked = async () => (await checkedBy()).reduce((sum, row) => sum + row.n, 0);
    // Everything falls due at once.
    await pool.query('UPDATE batch_jobs_vp_logs SET next_poll_at = now()');

    await waitFor('a third of the batches checked', async () => (await checked()) >= BATCHES / 3, {
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    // The victim is a replica in the middle of its work.
    const busy = (await checkedBy()).map((row) => row.owner);
    const victim = pollers.find((poller) => busy.some((owner) => owner.endsWith(`-${poller.pid}`)))!;
    victim.kill('SIGKILL');
    await victim.exited;
    await waitFor('every batch checked', async () => (await checked()) === BATCHES, { timeoutMs: 90_000 });

    const { rows } = await pool.query<{
      id: string;
      poll_attempt: number;
      lease_version: string;
      last_checked_by: string;
      provider_status: string;
    }>('SELECT id, poll_attempt, lease_version, last_checked_by, provider_status FROM batch_jobs_vp_logs');
    // Exactly one recorded check per batch, and one transition event each.
    expect(rows.every((row) => row.poll_attempt === 1)).toBe(true);
    expect(rows.every((row) => row.provider_status === 'in_progress')).toBe(true);
    const events = await pool.query<{ id: string; n: number }>(
      `SELECT payload->>'batchLogId' AS id, count(*)::int AS n FROM outbox
       WHERE subject = 'batch.status.changed' GROUP BY 1`,
    );
    expect(events.rows).toHaveLength(BATCHES);
    expect(events.rows.every((row) => row.n === 1)).toBe(true);

    // The work was shared, the victim included before it died.
    const byReplica = new Map<string, number>();
    for (const row of rows) byReplica.set(row.last_checked_by, (byReplica.get(row.last_checked_by) ?? 0) + 1);
    expect(byReplica.size).toBe(3);
    const victimId = [...byReplica.keys()].find((owner) => owner.endsWith(`-${victim.pid}`));
    expect(victimId).toBeDefined();

    // A batch was asked about twice only when the victim held it when it died (its lease then ran out and
    // another replica took it over: lease_version 2); never otherwise.
    const gets = new Map<string, number>();
    for (const request of emulator.requests) {
      if (request.method === 'GET' && request.path.startsWith('/v1/batches/batch_')) {
        const id = request.path.slice('/v1/batches/'.length);
        gets.set(id, (gets.get(id) ?? 0) + 1);
      }
    }
    for (const row of rows) {
      const asked = gets.get(providerBatchIds.get(Number(row.id))!) ?? 0;
      expect(asked).toBeGreaterThanOrEqual(1);
      if (asked > 1) {
        expect(Number(row.lease_version)).toBe(2);
        expect(row.last_checked_by).not.toBe(victimId);
      }
      expect(Number(row.lease_version)).toBeLessThanOrEqual(2);
    }
    const { rows: leftovers } = await pool.query(
      'SELECT id FROM batch_jobs_vp_logs WHERE lease_until > now()',
    );
    expect(leftovers).toEqual([]);
  });
});
