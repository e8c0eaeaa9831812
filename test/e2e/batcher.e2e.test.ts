import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { enqueuedRequestMsgId, Subjects } from '@batchline/events';
import { monitorService } from '@batchline/monitor';
import { type StartedService, startService } from '@batchline/runtime';
import { BATCHLINE_BIN, type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import {
  freePort,
  type MigratedTestDatabase,
  migratedTestDatabase,
  silentLogger,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const JOB_TYPE = 'specific_viewpoint';
const ADMIN_TOKEN = 'batcher-e2e-admin-token-0000000000';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const request = (id: number) => ({
  jobType: JOB_TYPE,
  requestId: id,
  fields: { text: `Sentence ${id} is fine.` },
});

describe('the batcher: requests through the subject, the API and the CLI, the batcher killed midway', () => {
  let db: MigratedTestDatabase;
  let emulator: Emulator;
  let bus: Bus;
  let monitor: StartedService;
  let batcher: ServiceProcess;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let api: string;
  const namespace = testNamespace('batcher');

  beforeAll(async () => {
    db = await migratedTestDatabase('e2e_batcher');
    emulator = await startEmulator({ clock: { validatingMs: 0, inProgressMs: 3_600_000, finalizingMs: 0 } });
    dir = await mkdtemp(join(tmpdir(), 'batchline-batcher-e2e-'));
    env = {
      ...process.env,
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      BATCHLINE_NAMESPACE: namespace,
      OPENAI_API_KEY: 'sk-batcher-e2e-0000000000',
      OPENAI_BASE_URL: emulator.baseUrl,
      HEALTH_PORT: '0',
      LOG_LEVEL: 'silent',
      BATCHER_TICK: '100ms',
      BATCH_MAX_REQUESTS: '40',
      BATCH_CREATE_INTERVAL: '1h',
    };
    bus = await connectBus({ servers: [testNatsUrl()], name: 'batcher-e2e', namespace, log: silentLogger });
    await bus.ensureTopology();
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    monitor = await startService(monitorService, {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      BATCHLINE_NAMESPACE: namespace,
      MONITOR_PORT: String(port),
      HEALTH_PORT: '0',
      ADMIN_TOKENS: ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
    });
    batcher = spawnServiceProcess({ name: 'batcher', env });
  }, 120_000);

  afterAll(async () => {
    await batcher?.stop();
    await monitor?.stop();
    await bus?.deleteTopology();
    await bus?.drain();
    await emulator?.close();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lands every unique request in exactly one batch', async () => {
    // 1..150 on the subject, 120..220 through the API (31 duplicates), 200..260 through the CLI (21 duplicates).
    for (const id of range(1, 150)) {
      const event = request(id);
      await bus.publish(Subjects.requestsEnqueued, event, { msgId: enqueuedRequestMsgId(event) });
    }
    const refused = await fetch(`${api}/api/admin/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [request(1), { ...request(2), fields: {} }] }),
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toContain('requests[1]');
    expect((await fetch(`${api}/api/admin/requests`, { method: 'POST' })).status).toBe(401);
    const accepted = await fetch(`${api}/api/admin/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: range(120, 220).map(request) }),
    });
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({
      success: true,
      data: { accepted: range(120, 220).length },
    });
    // Killed while it takes requests in and makes batches; a new process takes over.
    batcher.kill('SIGKILL');
    await batcher.exited;
    const input = join(dir, 'requests.jsonl');
    await writeFile(
      input,
      `${range(200, 260)
        .map((id) => JSON.stringify({ review_sentence_id: id, text: `Sentence ${id} is fine.` }))
        .join('\n')}\n`,
    );
    const { stdout } = await run(
      process.execPath,
      [BATCHLINE_BIN, 'enqueue', '--job-type', JOB_TYPE, '--input', input],
      {
        env,
      },
    );
    expect(stdout).toContain('requests enqueued for specific_viewpoint');
    batcher = spawnServiceProcess({ name: 'batcher', env });
    await waitFor(
      'every request queued',
      async () => {
        const { rows } = await db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM batcher_requests',
        );
        return rows[0]!.n === 260;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const status = await run(process.execPath, [BATCHLINE_BIN, 'batcher', 'status'], { env });
    expect(status.stdout).toMatch(/specific_viewpoint\s+openai\s+gpt-4o-mini\s+\d+/);
    // The rest, below BATCH_MAX_REQUESTS, goes out on demand.
    await run(process.execPath, [BATCHLINE_BIN, 'batcher', 'flush', '--job-type', JOB_TYPE], { env });
    const landed = await waitFor(
      'every request in a recorded batch',
      async () => {
        const { rows } = await db.pool.query<{ id: string; logs: number }>(
          'SELECT id, count(*)::int AS logs FROM batch_request_ids, unnest(sentence_ids) AS id GROUP BY id',
        );
        return rows.length === 260 ? rows : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    expect(landed.filter((row) => row.logs !== 1)).toEqual([]);
    const { rows: batches } = await db.pool.query<{ total: number }>(
      "SELECT total_requests AS total FROM batch_jobs WHERE origin = 'batcher'",
    );
    expect(batches.every((batch) => batch.total <= 40)).toBe(true);
    expect(batches.reduce((sum, batch) => sum + batch.total, 0)).toBe(260);
  }, 240_000);
});
