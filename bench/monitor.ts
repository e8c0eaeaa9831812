/**
 * `npm run bench:monitor`: issue 18's monitor goal — every read route of the admin API answers with p95 ≤ 50 ms
 * when the database holds a year of a large user: 100,000 batch logs and ~5,000,000 request results × --scale
 * (--scale 10: 1,000,000 and ~50,000,000).
 *
 * Seeds a fresh database with COPY (bench/monitor/seed.ts: batches over the last 30 days in jobs of one or two
 * parts, retry rounds, a few large batches, token usage and error codes on every result), records the monitor's
 * facts of the final batches, then times each read route over a real socket (each request authenticated with the
 * bench's operator token, validated, computed and audited, as in production) and prints p50/p95/p99 beside the
 * goal. Exports stream: their time to first byte and total are printed apart, the goal applied to the total of a
 * normal batch or job and to the first byte of a large one. Exits non-zero only on a wrong answer (status, counts).
 *
 *   npm run bench:monitor -- [--requests 200] [--warmup 20] [--keep] [--scale 1|10] [--database <kept url>]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadSettings, PollScheduleSettings, PricingSettings, pricingFrom } from '@batchline/config';
import { createPool, migrate, type Pool } from '@batchline/db';
import { createLogger } from '@batchline/logging';
import { buildApp } from '@batchline/monitor';
import { createTestDatabase } from '@batchline/testing';
import { type Route, routes } from './monitor/routes.ts';
import { copySeed, MonitorSeed, SEED_RESULTS } from './monitor/seed.ts';

const GOAL_P95_MS = 50;
const TOKEN = 'bench-monitor-token-000000';
const log = createLogger({ service: 'bench-monitor', level: 'silent' });

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    keep: { type: 'boolean', default: false },
    /**
     * A database kept by an earlier run (--keep) at the same --scale: migrated (so a new migration is measured on
     * the same rows), checked, timed again, and kept. Spares the seed's minutes when comparing before and after.
     */
    database: { type: 'string' },
    /**
     * How large a seed: 1 = 100,000 batch logs and ~5,000,000 results; 10 = issue 18's year of a large user
     * (1,000,000 and ~50,000,000, ~10 GB of disk: check `df` first).
     */
    scale: { type: 'string', default: '1' },
  },
});
if (!/^[1-9][0-9]*$/.test(options.scale))
  throw new Error(`--scale takes a positive integer, not ${options.scale}`);
const seed = new MonitorSeed(100_000 * Number(options.scale));

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(', ');

async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** The request results, the seed's batches split in two halves inserted side by side (two cores). */
async function insertResults(pool: Pool): Promise<number> {
  const half = Math.floor(seed.batches / 2);
  const counts = await Promise.all(
    [
      [1, half],
      [half + 1, seed.batches],
    ].map(async (range) => {
      const client = await pool.connect();
      try {
        await client.query('SET statement_timeout = 0');
        await client.query('SET synchronous_commit = off');
        return (await client.query(SEED_RESULTS, range)).rowCount ?? 0;
      } finally {
        client.release();
      }
    }),
  );
  return counts[0]! + counts[1]!;
}

async function seedDatabase(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query('SET synchronous_commit = off');
    const started = performance.now();
    const copied = await timed('copied the jobs and batch logs (COPY)', () => copySeed(client, seed));
    const results = await timed('inserted the request results (INSERT ... SELECT, two halves at once)', () =>
      insertResults(pool),
    );
    console.log(
      `  ${copied.jobs.toLocaleString('en-US')} jobs, ${copied.batches.toLocaleString('en-US')} batch logs, ${results.toLocaleString('en-US')} request results`,
    );
    await timed('recorded the facts of the final batches', () =>
      client.query('SELECT monitor_backfill_batch_facts()'),
    );
    await timed('vacuum analyze', () => client.query('VACUUM ANALYZE'));
    console.log(`seed time in all: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const size = await client.query<{ size: string }>(
      'SELECT pg_size_pretty(pg_database_size(current_database())) AS size',
    );
    console.log(`database size: ${size.rows[0]!.size}`);
  } finally {
    client.release();
  }
}

/** Checks that the database holds what the seed says (a kept database is checked again before it is timed). */
async function checkSeed(pool: Pool): Promise<void> {
  const expected = seed.totals();
  const { rows } = await pool.query<{ jobs: number; batches: number; results: number }>(
    `SELECT (SELECT count(*)::int FROM batch_jobs) AS jobs,
              (SELECT count(*)::int FROM batch_jobs_vp_logs) AS batches,
              (SELECT count(*)::int FROM batch_request_results) AS results`,
  );
  const found = rows[0]!;
  if (
    found.jobs !== expected.jobs ||
    found.batches !== expected.batches ||
    found.results !== expected.results
  ) {
    throw new Error(
      `seeding went wrong: ${JSON.stringify(found)} in the database, ${JSON.stringify(expected)} seeded`,
    );
  }
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

interface Timing {
  firstByteMs: number;
  totalMs: number;
}

async function get(address: string, route: Route): Promise<Timing & { body: string }> {
  const started = performance.now();
  const response = await fetch(`${address}${route.path}`, {
    headers: route.auth === false ? {} : { authorization: `Bearer ${TOKEN}` },
  });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let firstByteMs = Number.NaN;
  let body = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (Number.isNaN(firstByteMs)) firstByteMs = performance.now() - started;
    body += decoder.decode(value, { stream: true });
  }
  const totalMs = performance.now() - started;
  // An empty export's first byte is its end.
  if (Number.isNaN(firstByteMs)) firstByteMs = totalMs;
  if (response.status !== 200)
    throw new Error(`${route.path} answered ${response.status}: ${body.slice(0, 300)}`);
  return { firstByteMs, totalMs, body };
}

interface RouteResult {
  route: Route;
  firstByte: number[];
  total: number[];
}

async function measure(
  address: string,
  route: Route,
  requests: number,
  warmup: number,
): Promise<RouteResult> {
  const first = await get(address, route);
  const wrong = route.check(first.body);
  if (wrong !== null) throw new Error(`${route.name} (${route.path}): ${wrong}`);
  for (let i = 1; i < warmup; i++) await get(address, route);
  const firstByte: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < requests; i++) {
    const timing = await get(address, route);
    firstByte.push(timing.firstByteMs);
    total.push(timing.totalMs);
  }
  firstByte.sort((a, b) => a - b);
  total.sort((a, b) => a - b);
  return { route, firstByte, total };
}

const ms = (value: number) => value.toFixed(1).padStart(7);

function report(results: readonly RouteResult[]): void {
  console.log(
    `\n${'route'.padEnd(46)} ${'p50'.padStart(7)} ${'p95'.padStart(7)} ${'p99'.padStart(7)}   goal (p95)`,
  );
  let met = 0;
  for (const { route, firstByte, total } of results) {
    const goalTimes = route.goalOn === 'total' ? total : firstByte;
    const ok = percentile(goalTimes, 95) <= GOAL_P95_MS;
    if (ok) met += 1;
    const line = (label: string, times: readonly number[], goal: string) =>
      console.log(
        `${label.padEnd(46)} ${ms(percentile(times, 50))} ${ms(percentile(times, 95))} ${ms(percentile(times, 99))}   ${goal}`,
      );
    const goal = `≤ ${GOAL_P95_MS} ms ${ok ? 'met' : 'NOT met'}`;
    if (route.path.includes('/export?')) {
      line(`${route.name}: first byte`, firstByte, route.goalOn === 'first byte' ? goal : '');
      line(`${route.name}: total`, total, route.goalOn === 'total' ? goal : '');
    } else line(route.name, total, goal);
  }
  console.log(`\n${met} of ${results.length} routes meet p95 ≤ ${GOAL_P95_MS} ms`);
}

async function main(): Promise<void> {
  const requests = Number(options.requests);
  const warmup = Number(options.warmup);
  console.log(`load average at start (1, 5, 15 min): ${load()}`);
  const database = options.database ? null : await createTestDatabase('bench_monitor');
  const url = options.database ?? database!.url;
  const pool = createPool({ connectionString: url, log, applicationName: 'bench-monitor' });
  try {
    await migrate(pool, log);
    if (database) await seedDatabase(pool);
    else await timed('vacuum analyze (after migrating)', () => pool.query('VACUUM ANALYZE'));
    await checkSeed(pool);
    const config = loadSettings({ ...PricingSettings, ...PollScheduleSettings }, {});
    const app = await buildApp({
      pool,
      log,
      providers: {},
      operatorTokens: [TOKEN],
      readerTokens: [],
      pricing: pricingFrom(config),
      firstPollDelayMs: config.POLL_SCHEDULE[0]!,
      dashboardDir: null,
      // The bench measures the answer, not the 60-a-minute limit.
      rateLimit: { limit: Number.MAX_SAFE_INTEGER, windowMs: 60_000 },
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      console.log(
        `\n${requests} sequential requests per route after ${warmup} warm-up ones, over HTTP on loopback, each authenticated and audited:`,
      );
      const results: RouteResult[] = [];
      for (const route of routes(seed)) {
        const result = await measure(address, route, requests, warmup);
        const goalTimes = route.goalOn === 'total' ? result.total : result.firstByte;
        console.log(`  ${route.path}  p95 ${percentile(goalTimes, 95).toFixed(1)} ms (${route.goalOn})`);
        results.push(result);
      }
      report(results);
      console.log(`load average at end (1, 5, 15 min): ${load()}`);
    } finally {
      await app.close();
    }
  } finally {
    await pool.end();
    if (database === null || options.keep) console.log(`database kept: ${url}`);
    else await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
