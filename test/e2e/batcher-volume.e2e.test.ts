import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import { createPool, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { type BatchRequestEnqueuedEvent, enqueuedRequestMsgId, Subjects } from '@batchline/events';
import { loadJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { BATCHLINE_BIN, type ServiceProcess } from '@batchline/supervisor';
import {
  createTestDatabase,
  freePort,
  pipelineEnv,
  type RunningPipeline,
  startPipeline,
  type TestDatabase,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleReviewSentences, sampleViewpoints } from '../../cli/src/demo/sample-data.ts';

/**
 * Issue 16's end-to-end test: 30,000 requests of two job types enqueued over a minute through the subject, the
 * admin API and `batchline enqueue`, 500 of them sent twice, while the batcher is killed twice; the batches it makes
 * go through the poller, fetcher and persister. Every unique request ends answered and landed exactly once, in
 * batches within the configured size and under the model's enqueued-token ceiling.
 */
const run = promisify(execFile);
const log = createLogger({ service: 'e2e', level: 'silent' });
const EXAMPLES = fileURLToPath(new URL('../../examples/job-types', import.meta.url));
const ADMIN_TOKEN = 'batcher-volume-admin-token-000000000';

const PER_JOB_TYPE = 15_000;
const WAVES = 6;
const WAVE_MS = 10_000;
const MAX_REQUESTS = 4_000;
/** Both job types use gpt-4o-mini: the ceiling is shared by their batches and binds (~6M tokens are queued). */
const MAX_ENQUEUED_TOKENS = 1_500_000;
const DUPLICATES = 500;
const PUBLISH_WINDOW = 200;

type Channel = 'subject' | 'api' | 'cli';
const channelOf = (index: number): Channel => (['subject', 'api', 'cli'] as const)[index % 3]!;

interface Request {
  event: BatchRequestEnqueuedEvent;
  /** The input line `batchline enqueue` reads for it. */
  line: Record<string, unknown>;
}

function requestsOf(): Request[] {
  const viewpoints = sampleReviewSentences(PER_JOB_TYPE, 16).map((sentence) => ({
    event: {
      jobType: 'specific_viewpoint',
      requestId: sentence.review_sentence_id,
      fields: { text: sentence.text },
    },
    line: sentence as unknown as Record<string, unknown>,
  }));
  const reviews = Array.from({ length: PER_JOB_TYPE }, (_, i) => {
    const text = i % 4 === 0 ? `Loved it, would buy again (${i}).` : `It broke on day ${i % 30}, sadly.`;
    return {
      event: { jobType: 'review_sentiment', requestId: 900_001 + i, fields: { text } },
      line: { review_id: 900_001 + i, text },
    };
  });
  // Interleaved, so that each wave carries both job types.
  return viewpoints.flatMap((viewpoint, i) => [viewpoint, reviews[i]!]);
}

describe('the batcher at volume: 30,000 requests over a minute, three ways in, killed twice', () => {
  const namespace = testNamespace('batchvol');
  const requests = requestsOf();
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let bus: Bus;
  let pipeline: RunningPipeline;
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let api: string;

  const enqueueThroughCli = async (wave: number, jobType: string, lines: Record<string, unknown>[]) => {
    if (lines.length === 0) return;
    const input = join(workDir, `wave-${wave}-${jobType}.jsonl`);
    await writeFile(input, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const { stdout } = await run(
      process.execPath,
      [BATCHLINE_BIN, 'enqueue', '--job-type', jobType, '--input', input],
      { env },
    );
    expect(stdout).toContain(`requests enqueued for ${jobType}`);
  };
  const enqueueThroughApi = async (events: BatchRequestEnqueuedEvent[]) => {
    if (events.length === 0) return;
    const response = await fetch(`${api}/api/admin/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requests: events }),
    });
    expect(response.status).toBe(202);
  };
  /** Published as a producer would: a window of publishes in flight at a time, each awaiting its ack. */
  const enqueueOnSubject = async (events: BatchRequestEnqueuedEvent[], msgIdOf = enqueuedRequestMsgId) => {
    for (let start = 0; start < events.length; start += PUBLISH_WINDOW) {
      await Promise.all(
        events
          .slice(start, start + PUBLISH_WINDOW)
          .map((event) => bus.publish(Subjects.requestsEnqueued, event, { msgId: msgIdOf(event) })),
      );
    }
  };

  /** One wave: its requests split over the three ways in, all three at once. */
  async function enqueueWave(wave: number, batch: readonly Request[]): Promise<void> {
    const by = (channel: Channel) => batch.filter((_, i) => channelOf(i) === channel);
    const cli = by('cli');
    await Promise.all([
      enqueueOnSubject(by('subject').map((request) => request.event)),
      enqueueThroughApi(by('api').map((request) => request.event)),
      enqueueThroughCli(
        wave,
        'specific_viewpoint',
        cli.filter((r) => r.event.jobType === 'specific_viewpoint').map((r) => r.line),
      ),
      enqueueThroughCli(
        wave,
        'review_sentiment',
        cli.filter((r) => r.event.jobType === 'review_sentiment').map((r) => r.line),
      ),
    ]);
  }

  beforeAll(async () => {
    db = await createTestDatabase('e2e_batcher_volume');
    pool = createPool({ connectionString: db.url, log, applicationName: 'e2e-test' });
    await migrate(pool, log);
    await upsertViewpoints(pool, sampleViewpoints());
    emulator = await startEmulator({
      clock: { validatingMs: 200, inProgressMs: 1_500, finalizingMs: 200 },
      jobTypes: loadJobTypes(EXAMPLES),
      // The provider's limit is the batcher's ceiling: a batch past it would fail with token_limit_exceeded.
      enqueuedTokenLimit: MAX_ENQUEUED_TOKENS,
    });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'e2e-batcher-volume', namespace, log });
    await bus.ensureTopology();
    workDir = await mkdtemp(join(tmpdir(), 'batchline-batcher-volume-'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      extra: {
        BATCHLINE_JOB_TYPES: EXAMPLES,
        OTEL_EXPORTER_OTLP_ENDPOINT: '',
        LOG_LEVEL: 'warn',
        MONITOR_PORT: String(port),
        ADMIN_TOKENS: ADMIN_TOKEN,
        BATCHER_TICK: '250ms',
        BATCH_CREATE_INTERVAL: '5s',
        BATCH_MIN_SIZE: '1000',
        BATCH_MAX_REQUESTS: String(MAX_REQUESTS),
        BATCHER_MAX_ENQUEUED_TOKENS: String(MAX_ENQUEUED_TOKENS),
        // A killed batcher's planned batch is taken over soon after its restart.
        BATCHER_LEASE: '3s',
      },
    });
    expect((await run(process.execPath, [BATCHLINE_BIN, 'migrate'], { env })).stdout).toContain(
      'review_sentiments',
    );
    await pool.query(await readFile(join(EXAMPLES, 'sentiment_labels.sql'), 'utf8'));
    pipeline = startPipeline(env, ['poller', 'fetcher', 'persister', 'monitor', 'batcher']);
    await waitFor('the admin API', async () => (await fetch(`${api}/healthz`).catch(() => null))?.ok, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
  }, 180_000);

  afterAll(async () => {
    await pipeline?.stop();
    await bus?.deleteTopology();
    await bus?.drain();
    await emulator?.close();
    await pool?.end();
    await db?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('lands every unique request exactly once, in batches within the limits', async () => {
    const perWave = Math.ceil(requests.length / WAVES);
    const batcherKills: ServiceProcess[] = [];
    const killBatcher = async () => {
      const batcher = pipeline.services.filter((s) => s.name === 'batcher').at(-1)!;
      batcher.kill('SIGKILL');
      await batcher.exited;
      batcherKills.push(batcher);
      pipeline.start('batcher');
    };
    for (let wave = 0; wave < WAVES; wave += 1) {
      const started = Date.now();
      const batch = requests.slice(wave * perWave, (wave + 1) * perWave);
      await enqueueWave(wave, batch);
      // 500 requests sent again: half with the producers' msg id (JetStream drops them within its window), half as
      // a producer that retries with its own id would (they reach the batcher, which keeps the first).
      const again = requests.slice(
        wave * 83,
        wave * 83 + DUPLICATES / WAVES + (wave < DUPLICATES % WAVES ? 1 : 0),
      );
      const half = Math.floor(again.length / 2);
      await enqueueThroughApi(again.slice(0, half).map((request) => request.event));
      await enqueueOnSubject(
        again.slice(half).map((request) => request.event),
        (event) => `retried-by-producer:${event.jobType}:${event.requestId}`,
      );
      // Killed twice while requests arrive and batches are made.
      if (wave === 1 || wave === 3) await killBatcher();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, WAVE_MS - (Date.now() - started))));
    }
    expect(batcherKills).toHaveLength(2);

    const unique = requests.length;
    await waitFor(
      'every request queued once',
      async () => {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM batcher_requests');
        return rows[0]!.n === unique;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    // The last requests are fewer than BATCH_MIN_SIZE: they go out once the oldest has waited two intervals.
    const landed = await waitFor(
      'every request in a landed batch',
      async () => {
        const { rows } = await pool.query<{ pending: number; unlanded: number; queued: number }>(
          `SELECT (SELECT count(*)::int FROM batcher_requests WHERE planned_batch_id IS NULL) AS queued,
                  (SELECT count(*)::int FROM batcher_batches WHERE state = 'planned') AS pending,
                  (SELECT count(*)::int FROM batcher_batches b JOIN batch_jobs_vp_logs l ON l.id = b.batch_log_id
                   WHERE b.state = 'recorded' AND l.status <> 2) AS unlanded`,
        );
        const row = rows[0]!;
        return row.queued === 0 && row.pending === 0 && row.unlanded === 0 ? row : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );
    expect(landed).toBeDefined();
    // The ceiling held: the provider refused nothing.
    const { rows: refusals } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM batcher_batches WHERE state = 'refused'",
    );
    expect(refusals[0]!.n).toBe(0);

    // Each unique request is in exactly one batch (its batch log's request ids), and one outcome says it succeeded.
    const { rows: placements } = await pool.query<{ job_type: string; request_id: string; batches: number }>(
      `SELECT l.job_type, placed.id::text AS request_id, count(*)::int AS batches
       FROM batch_jobs_vp_logs l JOIN batch_request_ids r ON r.batch_log_id = l.id,
            unnest(r.sentence_ids) AS placed (id)
       GROUP BY l.job_type, placed.id`,
    );
    expect(placements).toHaveLength(unique);
    expect(placements.filter((p) => p.batches !== 1)).toEqual([]);
    const { rows: outcomes } = await pool.query<{ outcome: string; n: number }>(
      'SELECT outcome, count(*)::int AS n FROM batch_request_results GROUP BY outcome',
    );
    expect(outcomes).toEqual([{ outcome: 'succeeded', n: unique }]);

    // What landed is what the provider answered, per batch, once.
    const { rows: batches } = await pool.query<{
      id: number;
      batch_id: string;
      job_type: string;
      request_count: number;
      request_bytes: string;
      estimated_tokens: string;
    }>(
      `SELECT l.id::int, l.batch_id, l.job_type, b.request_count, b.request_bytes, b.estimated_tokens
       FROM batcher_batches b JOIN batch_jobs_vp_logs l ON l.id = b.batch_log_id WHERE b.state = 'recorded'`,
    );
    const expectedViewpointRows: string[] = [];
    const expectedSentimentRows: string[] = [];
    for (const batch of batches) {
      const oracle = await emulator.expectedOutcomes(batch.batch_id);
      for (const outcome of oracle.outcomes) {
        if (outcome.outcome !== 'succeeded') throw new Error(`${outcome.customId} failed at the provider`);
        for (const row of outcome.rows) {
          if (batch.job_type === 'specific_viewpoint')
            expectedViewpointRows.push(`${outcome.requestId}:${row[0]}`);
          else expectedSentimentRows.push(`${outcome.requestId}:${row.join(':')}`);
        }
      }
    }
    const { rows: viewpointRows } = await pool.query<{ row: string }>(
      "SELECT review_sentence_id || ':' || wl_spec_vp_id AS row FROM review_sentences_wl_spec_vp",
    );
    expect(viewpointRows.map((r) => r.row).sort()).toEqual(expectedViewpointRows.sort());
    const { rows: sentimentRows } = await pool.query<{ row: string }>(
      "SELECT review_id || ':' || label || ':' || score AS row FROM review_sentiments",
    );
    expect(sentimentRows).toHaveLength(PER_JOB_TYPE);
    expect(sentimentRows.map((r) => r.row).sort()).toEqual(expectedSentimentRows.sort());

    // Within the limits: BATCH_MAX_REQUESTS, the provider's bytes per file, the enqueued-token ceiling.
    expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(unique / MAX_REQUESTS));
    for (const batch of batches) {
      expect(batch.request_count).toBeLessThanOrEqual(MAX_REQUESTS);
      expect(Number(batch.request_bytes)).toBeLessThanOrEqual(200 * 1024 * 1024);
      expect(Number(batch.estimated_tokens)).toBeLessThanOrEqual(MAX_ENQUEUED_TOKENS);
    }
    expect(new Set(batches.map((batch) => batch.job_type))).toEqual(
      new Set(['specific_viewpoint', 'review_sentiment']),
    );
  }, 600_000);
});
