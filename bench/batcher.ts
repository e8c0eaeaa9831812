/**
 * `npm run bench:batcher`: 1,000,000 requests published on `batch.requests.enqueued` as fast as the machine allows,
 * taken in by the batcher (the real service, a compiled child process, against the local Postgres and NATS and the
 * emulator) and batched by size. Prints the requests per second accepted (committed into batcher_requests), the
 * batcher's peak memory, the CPU of the batcher, Postgres and nats-server, and the delay from the last request
 * accepted to its batch being recorded. Exits non-zero only on a wrong result: a request queued twice or not at
 * all, in two batches or in none.
 *
 *   npm run bench:batcher -- [--requests 1000000] [--publishers 4] [--window 500] [--duplicates 1000]
 *                            [--batch-size 50000] [--intake-concurrency N] [--profile DIR]
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connectBus } from '@batchline/bus';
import { createPool, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { startEmulator } from '@batchline/emulator';
import { encodeEvent, enqueuedRequestMsgId, Subjects } from '@batchline/events';
import { builtInJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import { createTestDatabase, pipelineEnv, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { type JetStreamClient, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { cpuSeconds, databaseUsage, natsServerUsage, peakRssBytes } from './ingest/proc-stats.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '1000000' },
    publishers: { type: 'string', default: '4' },
    window: { type: 'string', default: '500' },
    duplicates: { type: 'string', default: '1000' },
    'batch-size': { type: 'string', default: '50000' },
    'intake-concurrency': { type: 'string' },
    profile: { type: 'string' },
  },
});
const REQUESTS = Number(values.requests);
const PUBLISHERS = Number(values.publishers);
/** Publishes awaiting their acks per publisher connection. */
const WINDOW = Number(values.window);
const DUPLICATES = Math.min(Number(values.duplicates), REQUESTS);
const BATCH_SIZE = Number(values['batch-size']);
const GOAL_PER_SECOND = 20_000;
const GOAL_RSS_MIB = 150;
const API_KEY = 'sk-bench-batcher-000000000000';
const JOB_TYPE = builtInJobTypes().default.name;
const log = createLogger({ service: 'bench-batcher', level: 'silent' });

const mib = (bytes: number) => bytes / 1024 / 1024;
const count = async (pool: Pool, sql: string): Promise<number> =>
  Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);

/** Request `i`'s event, encoded (checked against the schema) as the producers publish it. */
function requestEvent(i: number) {
  const event = {
    jobType: JOB_TYPE,
    requestId: i,
    fields: { text: `Review sentence ${i}: the battery died after an hour and the charger got hot.` },
  };
  return { data: encodeEvent(Subjects.requestsEnqueued, event), msgId: enqueuedRequestMsgId(event) };
}

/**
 * Publishes requests `ids` on one connection, `WINDOW` unacknowledged publishes at a time. `again` re-sends
 * under a fresh msg id, as a producer enqueuing a request again after JetStream's duplicate window would: the
 * batcher's own de-duplication must keep it one request.
 */
async function publishAll(subject: string, ids: Iterable<number>, again = false): Promise<void> {
  const nc = await connect({ servers: [testNatsUrl()], name: 'bench-batcher-publisher' });
  const js = jetstream(nc);
  const inFlight = new Set<Promise<unknown>>();
  try {
    for (const i of ids) {
      const { data, msgId } = requestEvent(i);
      const ack = publishOnce(js, subject, data, again ? `${msgId}:again` : msgId);
      inFlight.add(ack);
      void ack.finally(() => inFlight.delete(ack)).catch(() => undefined);
      if (inFlight.size >= WINDOW) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    await nc.drain();
  }
}

/** One publish, sent again (same msg id: JetStream keeps one) when its ack does not come in time. */
async function publishOnce(js: JetStreamClient, subject: string, data: Uint8Array, msgId: string) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await js.publish(subject, data, { msgID: msgId, timeout: 30_000 });
    } catch (error) {
      if (attempt === 5) throw error;
    }
  }
}

function* stride(from: number, to: number, step: number): Generator<number> {
  for (let i = from; i <= to; i += step) yield i;
}

async function main(): Promise<void> {
  const db = await createTestDatabase('bench_batcher');
  const pool = createPool({ connectionString: db.url, log, applicationName: 'bench-batcher', max: 4 });
  const namespace = testNamespace('benchbatcher');
  const bus = await connectBus({ servers: [testNatsUrl()], name: 'bench-batcher', namespace, log });
  // Batches stay in progress: the bench measures intake and batch creation, not the rest of the pipeline.
  const emulator = await startEmulator({
    clock: { validatingMs: 0, inProgressMs: 24 * 3_600_000, finalizingMs: 0 },
  });
  let batcher: ServiceProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  try {
    await migrate(pool, log);
    // The job type's catalogue, which every request line carries.
    await upsertViewpoints(
      pool,
      Array.from({ length: 12 }, (_, i) => ({ id: i + 1, name: `viewpoint ${i + 1}` })),
    );
    await bus.ensureTopology();
    if (values.profile) mkdirSync(values.profile, { recursive: true });
    const env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      extra: {
        OPENAI_API_KEY: API_KEY,
        BATCH_MAX_REQUESTS: String(BATCH_SIZE),
        BATCH_CREATE_INTERVAL: '1h',
        BATCHER_MAX_ENQUEUED_TOKENS: '1000000000000',
        BATCHER_TICK: '200ms',
        ...(values['intake-concurrency'] ? { BATCHER_INTAKE_CONCURRENCY: values['intake-concurrency'] } : {}),
        // A CPU profile of the batcher, written when it exits (bench/ingest/profile-preload.mjs).
        ...(values.profile
          ? {
              NODE_OPTIONS: `--import ${fileURLToPath(new URL('./ingest/profile-preload.mjs', import.meta.url))}`,
              BENCH_PROFILE_DIR: values.profile,
            }
          : {}),
      },
    });
    let started = false;
    const errors: string[] = [];
    const spawned: ServiceProcess = spawnServiceProcess({
      name: 'batcher',
      env: { ...env, LOG_LEVEL: 'info' },
      onLine: (line) => {
        if (line.includes('batcher started')) started = true;
        if (/"level":(50|60)/.test(line) && errors.length < 5) errors.push(line);
      },
    });
    batcher = spawned;
    await waitFor('batcher started', () => started, { timeoutMs: 60_000 });

    const subject = bus.naming.subject(Subjects.requestsEnqueued);
    const cpuBefore = {
      batcher: cpuSeconds(spawned.pid),
      postgres: (await databaseUsage(pool, db.name)).cpuSeconds,
      nats: natsServerUsage().cpuSeconds,
    };
    console.log(
      `publishing ${REQUESTS} requests (+${DUPLICATES} enqueued again) from ${PUBLISHERS} connections…`,
    );
    let peakRss = 0;
    sampler = setInterval(() => {
      peakRss = Math.max(peakRss, peakRssBytes(spawned.pid));
    }, 250);
    const startedAt = Date.now();
    await Promise.all(
      Array.from({ length: PUBLISHERS }, (_, p) => publishAll(subject, stride(p + 1, REQUESTS, PUBLISHERS))),
    );
    await publishAll(subject, stride(1, DUPLICATES, 1), true);
    const publishedAt = Date.now();

    // Accepted: every unique request committed into the batcher's queue.
    let acceptedAt = 0;
    let lastCount = -1;
    await waitFor(
      'every request accepted',
      async () => {
        const queued = await count(pool, 'SELECT count(*) AS n FROM batcher_requests');
        if (queued !== lastCount) {
          lastCount = queued;
          acceptedAt = Date.now();
        }
        return queued >= REQUESTS;
      },
      { timeoutMs: 30 * 60_000, intervalMs: 100 },
    );
    const cpuAtAccepted = {
      batcher: cpuSeconds(spawned.pid) - cpuBefore.batcher,
      postgres: (await databaseUsage(pool, db.name)).cpuSeconds - cpuBefore.postgres,
      nats: natsServerUsage().cpuSeconds - cpuBefore.nats,
    };
    const expectedBatches = Math.ceil(REQUESTS / BATCH_SIZE);
    await waitFor(
      'every request in a recorded batch',
      async () =>
        (await count(
          pool,
          `SELECT count(*) AS n FROM batcher_requests r JOIN batcher_batches b ON b.id = r.planned_batch_id
           WHERE b.state = 'recorded'`,
        )) >= REQUESTS,
      { timeoutMs: 30 * 60_000, intervalMs: 250 },
    );
    clearInterval(sampler);
    peakRss = Math.max(peakRss, peakRssBytes(spawned.pid));
    // Let a moment pass for a request or batch too many to show up.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const { rows: delays } = await pool.query<{ delay_ms: number; batches: string; trigger: string }>(
      `SELECT extract(epoch FROM b.settled_at - r.enqueued_at) * 1000 AS delay_ms, b.trigger,
              (SELECT count(*) FROM batcher_batches WHERE state = 'recorded') AS batches
       FROM batcher_requests r JOIN batcher_batches b ON b.id = r.planned_batch_id
       ORDER BY r.enqueued_at DESC, r.id DESC LIMIT 1`,
    );
    const queued = await count(pool, 'SELECT count(*) AS n FROM batcher_requests');
    const distinct = await count(pool, 'SELECT count(DISTINCT request_id) AS n FROM batcher_requests');
    const unbatched = await count(
      pool,
      `SELECT count(*) AS n FROM batcher_requests r LEFT JOIN batcher_batches b ON b.id = r.planned_batch_id
       WHERE b.state IS DISTINCT FROM 'recorded'`,
    );
    // The request ids the recorded batch logs carry: each request in exactly one of them.
    const { rows: landed } = await pool.query<{ ids: string; distinct_ids: string }>(
      `SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids
       FROM (SELECT unnest(r.sentence_ids) AS id FROM batch_request_ids r
             JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id) AS carried`,
    );
    const inBatches = Number(landed[0]!.ids);
    const inDistinctBatches = Number(landed[0]!.distinct_ids);

    const acceptSeconds = (acceptedAt - startedAt) / 1000;
    const publishSeconds = (publishedAt - startedAt) / 1000;
    const perSecond = REQUESTS / acceptSeconds;
    const load = (await import('node:os')).loadavg();
    console.log('');
    console.log(`requests                    ${REQUESTS} unique (+${DUPLICATES} enqueued again)`);
    console.log(
      `published                   ${(publishSeconds).toFixed(1)} s (${((REQUESTS + DUPLICATES) / publishSeconds).toFixed(0)}/s, ${PUBLISHERS} connections)`,
    );
    console.log(
      `accepted                    ${perSecond.toFixed(0)} requests/s (${acceptSeconds.toFixed(1)} s, first publish → last commit)   goal ≥ ${GOAL_PER_SECOND}`,
    );
    console.log(`batcher peak RSS            ${mib(peakRss).toFixed(0)} MiB   goal ≤ ${GOAL_RSS_MIB} MiB`);
    console.log(
      `CPU while taking in         batcher ${cpuAtAccepted.batcher.toFixed(1)} s, postgres ${cpuAtAccepted.postgres.toFixed(1)} s, nats-server ${cpuAtAccepted.nats.toFixed(1)} s (all of the machine's) — ${((cpuAtAccepted.batcher * 1e6) / REQUESTS).toFixed(0)} µs of batcher CPU per request`,
    );
    console.log(
      `last request → its batch    ${(Number(delays[0]?.delay_ms) / 1000).toFixed(1)} s (recorded; trigger ${delays[0]?.trigger}; ${delays[0]?.batches} batches, ${expectedBatches} expected)`,
    );
    console.log(`load average                ${load.map((l) => l.toFixed(1)).join(' ')} (2 cores, shared)`);
    if (errors.length > 0) console.log(`batcher errors logged:\n${errors.join('\n')}`);

    const wrong: string[] = [];
    if (queued !== REQUESTS) wrong.push(`${queued} requests queued, ${REQUESTS} unique sent`);
    if (distinct !== REQUESTS) wrong.push(`${distinct} distinct request ids queued, ${REQUESTS} sent`);
    if (unbatched !== 0) wrong.push(`${unbatched} requests in no recorded batch`);
    if (inDistinctBatches !== REQUESTS) wrong.push(`${inDistinctBatches} of ${REQUESTS} requests in a batch`);
    if (inBatches !== inDistinctBatches)
      wrong.push(`${inBatches - inDistinctBatches} requests in two batches`);
    if (wrong.length > 0) {
      console.error(`WRONG: ${wrong.join('; ')}`);
      process.exitCode = 1;
    }
  } finally {
    clearInterval(sampler);
    await batcher?.stop(60_000);
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
