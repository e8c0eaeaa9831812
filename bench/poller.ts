/**
 * `npm run bench:poller`: 10,000 in-flight batches in the emulator, checked by two poller processes (the real
 * service, against the local Postgres and NATS). Every batch falls due once within the first minute (spread
 * evenly), then every POLL_SCHEDULE step. Prints checks per second, CPU per check, the lease query's time and
 * the delay between a batch falling due and its status call (p50/p99).
 *
 *   npm run bench:poller -- [--batches 10000] [--seconds 90] [--replicas 2] [--chunk 50]
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectBus } from '@batchline/bus';
import { createPool, migrate } from '@batchline/db';
import { startEmulator } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
import { type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import { createTestDatabase, pipelineEnv, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { cpuSeconds } from './ingest/proc-stats.ts';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '90' },
    replicas: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '50' },
  },
});
const BATCHES = Number(values.batches);
const SECONDS = Number(values.seconds);
const REPLICAS = Number(values.replicas);
/** Every batch's first check falls due within this window, evenly spread; then every step of the schedule. */
const SPREAD_MS = 60_000;
const API_KEY = 'sk-bench-poller-000000000000';
const log = createLogger({ service: 'bench-poller', level: 'silent' });

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  const db = await createTestDatabase('bench_poller');
  const pool = createPool({ connectionString: db.url, log, applicationName: 'bench-poller', max: 20 });
  const namespace = testNamespace('benchpoll');
  const bus = await connectBus({ servers: [testNatsUrl()], name: 'bench-poller', namespace, log });
  // In progress for the whole run: every check finds the batch unchanged, as most checks in production do.
  const emulator = await startEmulator({
    clock: { validatingMs: 0, inProgressMs: 24 * 3_600_000, finalizingMs: 0 },
  });
  const pollers: ServiceProcess[] = [];
  try {
    await migrate(pool, log);
    await bus.ensureTopology();

    process.stdout.write(`creating ${BATCHES} batches in the emulator… `);
    const inputPath = join(tmpdir(), `bench-poller-${process.pid}.jsonl`);
    await writeFile(
      inputPath,
      `${JSON.stringify({ custom_id: 'rs-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [] } })}\n`,
    );
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([await readFile(inputPath)]), 'input.jsonl');
    await rm(inputPath);
    const headers = { authorization: `Bearer ${API_KEY}` };
    const file = (await (
      await fetch(`${emulator.baseUrl}/files`, { method: 'POST', headers, body: form })
    ).json()) as {
      id: string;
    };
    const ids: string[] = [];
    for (let start = 0; start < BATCHES; start += 50) {
      const created = await Promise.all(
        Array.from({ length: Math.min(50, BATCHES - start) }, async () => {
          const response = await fetch(`${emulator.baseUrl}/batches`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({
              input_file_id: file.id,
              endpoint: '/v1/chat/completions',
              completion_window: '24h',
            }),
          });
          return ((await response.json()) as { id: string }).id;
        }),
      );
      ids.push(...created);
    }
    console.log('done');

    const env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      extra: {
        OPENAI_API_KEY: API_KEY,
        POLL_SCHEDULE: `${SPREAD_MS / 1000}s`,
        POLL_CHUNK: String(values.chunk),
        POLL_TICK: '1s',
        LOG_LEVEL: 'warn',
      },
    });
    const started = new Set<number>();
    for (let i = 0; i < REPLICAS; i += 1) {
      const poller: ServiceProcess = spawnServiceProcess({
        name: 'poller',
        env: { ...env, LOG_LEVEL: 'info' },
        onLine: (line) => {
          if (line.includes('poller started')) started.add(poller.pid);
        },
      });
      pollers.push(poller);
    }
    await waitFor('pollers started', () => started.size === REPLICAS, { timeoutMs: 60_000 });

    // The batches' first checks fall due from now on, spread evenly over the first minute.
    await pool.query(
      `INSERT INTO batch_jobs_vp_logs (provider, batch_id, model, total_sentences, input_file_id, next_poll_at, created_at)
       SELECT 'openai', id, 'm', 1, $2, now() + (ord - 1) * $3::float8 * interval '1 millisecond',
              now() + (ord - 1) * $3::float8 * interval '1 millisecond' - $4::float8 * interval '1 millisecond'
       FROM unnest($1::text[]) WITH ORDINALITY AS t(id, ord)`,
      [ids, file.id, SPREAD_MS / BATCHES, SPREAD_MS],
    );
    const { rows: due } = await pool.query<{ batch_id: string; due_ms: number }>(
      `SELECT batch_id, extract(epoch FROM next_poll_at) * 1000 AS due_ms FROM batch_jobs_vp_logs`,
    );
    const firstDue = new Map(due.map((row) => [row.batch_id, Number(row.due_ms)]));
    const cpuBefore = pollers.map((poller) => cpuSeconds(poller.pid));
    const requestsBefore = emulator.requests.length;
    const startedAt = Date.now();
    console.log(`running ${REPLICAS} pollers for ${SECONDS} s…`);
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    const elapsed = (Date.now() - startedAt) / 1000;
    const cpuUsed = pollers.reduce((sum, poller, i) => sum + cpuSeconds(poller.pid) - cpuBefore[i]!, 0);

    // Due → status call: each batch's first call against the due time it was given.
    const firstCall = new Map<string, number>();
    for (const request of emulator.requests.slice(requestsBefore)) {
      if (request.method !== 'GET' || !request.path.startsWith('/v1/batches/')) continue;
      const id = request.path.slice('/v1/batches/'.length);
      if (!firstCall.has(id)) firstCall.set(id, request.at);
    }
    const delays = [...firstCall]
      .map(([id, at]) => at - firstDue.get(id)!)
      .filter((delay) => Number.isFinite(delay))
      .sort((a, b) => a - b);
    const { rows: figures } = await pool.query<{ checked: number; cycles: number; failed: number }>(
      `SELECT COALESCE(sum(checked), 0)::int AS checked, count(*)::int AS cycles,
              COALESCE(sum((SELECT COALESCE(sum(value::int), 0) FROM jsonb_each_text(errors))), 0)::int AS failed
       FROM poller_cycles`,
    );
    const { rows: leaseTimes } = await pool.query<{ lease_ms: number }>(
      'SELECT lease_ms FROM poller_cycles ORDER BY lease_ms',
    );
    const leaseMs = leaseTimes.map((row) => row.lease_ms);
    for (const poller of pollers) await poller.stop(20_000);
    pollers.length = 0;

    // The lease query itself, as the database runs it (all 10,000 batches pending, a chunk of them due).
    await pool.query(
      `UPDATE batch_jobs_vp_logs SET next_poll_at = now() - interval '1 second' WHERE id % 200 = 0`,
    );
    const planned: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ 'QUERY PLAN': { 'Execution Time': number }[] }>(
          `EXPLAIN (ANALYZE, FORMAT JSON)
           SELECT id FROM batch_jobs_vp_logs
           WHERE status = 1 AND provider_terminal_at IS NULL AND next_poll_at <= now()
             AND (lease_until IS NULL OR lease_until <= now()) AND NOT polling_paused
             AND NOT EXISTS (SELECT 1 FROM polling_control WHERE paused)
             AND NOT EXISTS (SELECT 1 FROM provider_pauses p WHERE p.provider = batch_jobs_vp_logs.provider
                             AND (p.needs_probe OR p.paused_until > now()))
           ORDER BY poll_priority DESC, next_poll_at LIMIT ${Number(values.chunk)} FOR UPDATE SKIP LOCKED`,
        );
        planned.push(rows[0]!['QUERY PLAN'][0]!['Execution Time']);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
    }
    planned.sort((a, b) => a - b);

    const checked = figures[0]!.checked;
    console.log('');
    console.log(`batches in flight         ${BATCHES}`);
    console.log(`pollers                   ${REPLICAS} (POLL_CHUNK ${values.chunk})`);
    console.log(
      `checks                    ${checked} in ${elapsed.toFixed(1)} s (${figures[0]!.failed} failed)`,
    );
    console.log(`checks per second         ${(checked / elapsed).toFixed(1)}`);
    console.log(
      `CPU per check             ${ms((cpuUsed * 1000) / Math.max(1, checked))} (pollers' user+system)`,
    );
    console.log(
      `lease query (in poller)   p50 ${ms(percentile(leaseMs, 50))}  p99 ${ms(percentile(leaseMs, 99))}  (${leaseMs.length} cycles, round trip)`,
    );
    console.log(
      `lease query (server)      p50 ${ms(percentile(planned, 50))}  p99 ${ms(percentile(planned, 99))}  (EXPLAIN ANALYZE)`,
    );
    console.log(
      `due → status call         p50 ${ms(percentile(delays, 50))}  p99 ${ms(percentile(delays, 99))}  max ${ms(delays.at(-1) ?? Number.NaN)}  (${delays.length} of ${BATCHES} batches' first checks)`,
    );
  } finally {
    for (const poller of pollers) await poller.stop(20_000);
    await bus.deleteTopology().catch(() => undefined);
    await bus.drain().catch(() => undefined);
    await emulator.close();
    await pool.end();
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
