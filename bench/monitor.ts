/**
 * `npm run bench:monitor`: the monitor's goal — `GET /api/admin/batch-monitoring?timeRange=30d&includeDetails=true`
 * answers with p95 ≤ 50 ms when the database holds 100,000 batch logs and 5,000,000 request results (× --scale).
 *
 * Seeds a fresh database with generate_series (batches spread over the last 30 days: 1 % still running, the rest
 * completed or expired, 50 or 100 results each, token usage and error codes on every result), records the
 * monitor's facts of the final batches in one pass, then times requests over a real socket (each one
 * authenticated, validated, computed and audited) and prints p50/p95/p99.
 *
 *   npm run bench:monitor -- [--requests 300] [--warmup 30] [--keep] [--scale 1|10]
 */
import { parseArgs } from 'node:util';
import { loadSettings, PollScheduleSettings, PricingSettings, pricingFrom } from '@batchline/config';
import { createPool, migrate, type Pool } from '@batchline/db';
import { createLogger } from '@batchline/logging';
import { buildApp } from '@batchline/monitor';
import { createTestDatabase } from '@batchline/testing';

const GOAL_P95_MS = 50;
const TOKEN = 'bench-monitor-token-000000';
const log = createLogger({ service: 'bench-monitor', level: 'silent' });

const { values: options } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
    /**
     * How large a seed: 1 = 100,000 batch logs and 5,000,000 results; 10 = issue 18's year of a large user
     * (1,000,000 and 50,000,000, ~10 GB of disk: check `df` first).
     */
    scale: { type: 'string', default: '1' },
  },
});
if (!/^[1-9][0-9]*$/.test(options.scale))
  throw new Error(`--scale takes a positive integer, not ${options.scale}`);
const BATCHES = 100_000 * Number(options.scale);
/** Per hundred batches: one running (none), one with 100 results, 98 with 50. */
const RESULTS = 50 * BATCHES;

/**
 * Batch g (1..100,000): every 100th still running (no results yet), every 37th of the others expired, the rest
 * completed; every 100th + 1 has 100 results and the others 50 — 98,000 × 50 + 1,000 × 100 = 5,000,000; g % 7 of
 * them failed; a third use gpt-4o, the rest gpt-4o-mini; a tenth are another job type.
 */
const SEED_BATCHES = `
  INSERT INTO batch_jobs_vp_logs (batch_id, provider, job_type, model, total_sentences, processed_sentences,
    failed_sentences, status, created_at, provider_status, provider_started_at, provider_terminal_at,
    results_landed_at, request_counts, input_file_id, next_poll_at)
  SELECT 'batch_bench_' || g, 'openai',
         CASE WHEN g % 10 = 0 THEN 'sentiment' ELSE 'specific_viewpoint' END,
         CASE WHEN g % 3 = 0 THEN 'gpt-4o' ELSE 'gpt-4o-mini' END,
         n.requests,
         CASE WHEN g % 100 = 0 THEN 0 ELSE n.requests - g % 7 END,
         CASE WHEN g % 100 = 0 THEN 0 ELSE g % 7 END,
         CASE WHEN g % 100 = 0 THEN 1 WHEN g % 37 = 0 THEN 9 ELSE 2 END,
         t.created,
         CASE WHEN g % 100 = 0 THEN 'in_progress' WHEN g % 37 = 0 THEN 'expired' ELSE 'completed' END,
         t.created + interval '5 minutes',
         CASE WHEN g % 100 = 0 THEN NULL ELSE t.created + interval '40 minutes' END,
         CASE WHEN g % 100 = 0 THEN NULL ELSE t.created + interval '41 minutes' + (g % 13) * interval '1 minute' END,
         jsonb_build_object('total', n.requests, 'completed', n.requests - g % 7, 'failed', g % 7),
         'file-bench-' || g,
         now() + interval '1 hour'
  FROM generate_series(1, ${BATCHES}) g,
       LATERAL (SELECT CASE WHEN g % 100 = 1 THEN 100 ELSE 50 END AS requests) n,
       LATERAL (SELECT now() - interval '2 hours' - (g::float8 / ${BATCHES}) * interval '29 days 20 hours' AS created) t`;

const SEED_RESULTS = `
  INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code, error_message,
    review_sentence_id, prompt_tokens, completion_tokens)
  SELECT b.id, 'rs-' || (b.id * 1000 + i),
         CASE WHEN i <= b.failed_sentences THEN 'failed' ELSE 'succeeded' END,
         CASE WHEN i > b.failed_sentences THEN NULL WHEN i % 2 = 0 THEN 'invalid_content' ELSE 'server_error' END,
         NULL, b.id * 1000 + i, 180 + (i % 50), 8 + (i % 5)
  FROM batch_jobs_vp_logs b, generate_series(1, b.total_sentences) i
  WHERE b.status <> 1`;

async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await run();
  console.log(`${what}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function seed(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SET statement_timeout = 0');
    await client.query('SET synchronous_commit = off');
    await timed(`seeded ${BATCHES.toLocaleString('en-US')} batch logs`, () => client.query(SEED_BATCHES));
    await timed(`seeded ${RESULTS.toLocaleString('en-US')} request results`, () =>
      client.query(SEED_RESULTS),
    );
    await timed('recorded the facts of the final batches', () =>
      client.query('SELECT monitor_backfill_batch_facts()'),
    );
    await timed('vacuum analyze', () => client.query('VACUUM ANALYZE'));
    const size = await client.query<{ size: string }>(
      'SELECT pg_size_pretty(pg_database_size(current_database())) AS size',
    );
    console.log(`database size: ${size.rows[0]!.size}`);
    const { rows } = await client.query<{ batches: number; results: number }>(
      `SELECT (SELECT count(*)::int FROM batch_jobs_vp_logs) AS batches,
              (SELECT count(*)::int FROM batch_request_results) AS results`,
    );
    if (rows[0]!.batches !== BATCHES || rows[0]!.results !== RESULTS) {
      throw new Error(`seeding went wrong: ${rows[0]!.batches} batch logs, ${rows[0]!.results} results`);
    }
  } finally {
    client.release();
  }
}

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function measure(address: string, path: string, requests: number, warmup: number) {
  const get = async () => {
    const started = performance.now();
    const response = await fetch(`${address}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await response.json()) as { success: boolean; data: { summary: Record<string, unknown> } };
    const ms = performance.now() - started;
    if (response.status !== 200 || !body.success) throw new Error(`${path} answered ${response.status}`);
    return { ms, body };
  };
  for (let i = 0; i < warmup; i++) await get();
  const times: number[] = [];
  let last: Awaited<ReturnType<typeof get>>['body'] | null = null;
  for (let i = 0; i < requests; i++) {
    const { ms, body } = await get();
    times.push(ms);
    last = body;
  }
  times.sort((a, b) => a - b);
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    max: times.at(-1)!,
    summary: last!.data.summary,
  };
}

async function main(): Promise<void> {
  const requests = Number(options.requests);
  const warmup = Number(options.warmup);
  const database = await createTestDatabase('bench_monitor');
  const pool = createPool({ connectionString: database.url, log, applicationName: 'bench-monitor' });
  try {
    await migrate(pool, log);
    await seed(pool);
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
        `\n${requests} sequential requests each, after ${warmup} warm-up requests, over HTTP on loopback:`,
      );
      const goalPath = '/api/admin/batch-monitoring?timeRange=30d&includeDetails=true';
      const others = [
        '/api/admin/batch-monitoring?timeRange=24h&includeDetails=true',
        '/api/admin/batch-monitoring?timeRange=30d&includeDetails=true&status=failed&limit=100',
        '/api/admin/batch-monitoring?timeRange=7d&jobType=sentiment&page=20',
      ];
      let goal: Awaited<ReturnType<typeof measure>> | null = null;
      for (const path of [goalPath, ...others]) {
        const result = await measure(address, path, requests, warmup);
        if (path === goalPath) goal = result;
        console.log(
          `  ${path}\n    p50 ${result.p50.toFixed(1)} ms   p95 ${result.p95.toFixed(1)} ms   p99 ${result.p99.toFixed(1)} ms   max ${result.max.toFixed(1)} ms`,
        );
      }
      const summary = goal!.summary;
      console.log(
        `\n30d window: ${summary.totalJobs} jobs, ${summary.totalRequests} requests, ${summary.processedRequests} processed`,
      );
      const met = goal!.p95 <= GOAL_P95_MS;
      console.log(
        `goal p95 ≤ ${GOAL_P95_MS} ms: ${met ? 'met' : 'NOT met'} (p95 ${goal!.p95.toFixed(1)} ms)`,
      );
      if (!met) process.exitCode = 1;
    } finally {
      await app.close();
    }
  } finally {
    await pool.end();
    if (options.keep) console.log(`database kept: ${database.url}`);
    else await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
