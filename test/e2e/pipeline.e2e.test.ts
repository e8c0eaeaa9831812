import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import { createPool, getBatchLog, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { type Emulator, type LineFault, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { createOpenAIProvider } from '@batchline/providers';
import { BATCHLINE_BIN } from '@batchline/supervisor';
import {
  createTestDatabase,
  pipelineEnv,
  type RunningPipeline,
  type SlackReceiver,
  startPipeline,
  startSlackReceiver,
  type TestDatabase,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleReviewSentences, sampleViewpoints } from '../../cli/src/demo/sample-data.ts';

const run = promisify(execFile);
const log = createLogger({ service: 'e2e', level: 'silent' });

/** One request of each bad kind of contract §4 (by position in the 1,000-request input). */
const FAULTS: Record<number, LineFault> = {
  10: {
    kind: 'error',
    code: 'server_error',
    message: 'The server had an error while processing your request.',
  },
  20: { kind: 'http', status: 500 },
  30: { kind: 'http', status: 429, message: 'Rate limit reached' },
  40: { kind: 'content', content: 'I think this sentence is about the battery.' },
  50: { kind: 'content', content: '{"viewpoint_ids": [999999]}' },
  60: { kind: 'omit' },
  70: { kind: 'garbage', text: '{"custom_id": "rs-truncated", "response": ' },
  80: { kind: 'duplicate' },
};
/** Position whose custom_id is not of the form rs-<positive integer>. */
const INVALID_CUSTOM_ID_AT = 90;

describe('the pipeline, end to end, as four processes on real NATS and Postgres', () => {
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let slack: SlackReceiver;
  let pipeline: RunningPipeline;
  let bus: Bus;
  let workDir: string;
  let providerBatchId: string;
  let batchLogId: number;
  const namespace = testNamespace('e2e');
  const sentences = sampleReviewSentences(1000, 7);
  const customIds = sentences.map((s, i) =>
    i === INVALID_CUSTOM_ID_AT ? `review-${s.review_sentence_id}` : `rs-${s.review_sentence_id}`,
  );
  const faultByCustomId = new Map(
    Object.entries(FAULTS).map(([at, fault]) => [customIds[Number(at)]!, fault]),
  );

  beforeAll(async () => {
    db = await createTestDatabase('e2e');
    pool = createPool({ connectionString: db.url, log, applicationName: 'e2e-test' });
    await migrate(pool, log);
    const viewpoints = sampleViewpoints();
    await upsertViewpoints(pool, viewpoints);
    slack = await startSlackReceiver();
    emulator = await startEmulator({
      clock: { validatingMs: 200, inProgressMs: 1000, finalizingMs: 200 },
      lineFaults: (customId) => faultByCustomId.get(customId),
    });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'e2e-test', namespace, log });
    await bus.ensureTopology();

    // The batch is created "elsewhere" (with one malformed custom_id) and adopted with `batchline track`.
    workDir = await mkdtemp(join(tmpdir(), 'batchline-e2e-'));
    const requestContext = {
      model: 'gpt-4o-mini',
      catalogue: viewpoints.map(({ id, name }) => ({ key: String(id), label: name })),
    };
    const lines = sentences.map((s, i) => ({
      ...builtInJobTypes().default.requestLine(
        'openai',
        { id: s.review_sentence_id, fields: { text: s.text } },
        requestContext,
      ),
      custom_id: customIds[i],
    }));
    const inputPath = join(workDir, 'input.jsonl');
    await writeFile(inputPath, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const provider = createOpenAIProvider({
      apiKey: 'sk-test-canary-0123456789abcdef',
      baseURL: emulator.baseUrl,
    });
    providerBatchId = (await provider.uploadAndCreateBatch({ inputPath, endpoint: '/v1/chat/completions' }))
      .id;

    const env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      slackWebhookUrl: slack.url,
    });
    const tracked = await run(process.execPath, [BATCHLINE_BIN, 'track', providerBatchId], { env });
    batchLogId = Number(/batch log (\d+)/.exec(tracked.stdout)?.[1]);
    expect(batchLogId).toBeGreaterThan(0);

    pipeline = startPipeline(env);
  });

  afterAll(async () => {
    const exits = await pipeline?.stop();
    await bus?.deleteTopology();
    await bus?.drain();
    await emulator?.close();
    await slack?.close();
    await pool?.end();
    await db?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    void exits;
  });

  it('lands every outcome and association exactly once, sets status 2 and posts one Slack message', async () => {
    const row = await waitFor(
      'the batch to be final and announced',
      async () => {
        const current = await getBatchLog(pool, batchLogId);
        return current && current.status !== 1 && current.finalNotifiedAt !== null ? current : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const oracle = await emulator.expectedOutcomes(providerBatchId);
    expect(oracle.final).toBe(true);
    expect(oracle.outcomes).toHaveLength(1000);

    // Every request outcome, as the emulator served it (contract §4), exactly once.
    const { rows: results } = await pool.query<{
      custom_id: string;
      outcome: string;
      error_code: string | null;
    }>(
      'SELECT custom_id, outcome, error_code FROM batch_request_results WHERE batch_log_id = $1 ORDER BY custom_id',
      [batchLogId],
    );
    expect(results).toHaveLength(1000);
    const actual = new Map(results.map((r) => [r.custom_id, `${r.outcome}:${r.error_code ?? ''}`]));
    const expected = new Map(
      oracle.outcomes.map((o) => [
        o.customId,
        o.outcome === 'succeeded' ? 'succeeded:' : `failed:${o.errorCode}`,
      ]),
    );
    expect(actual).toEqual(expected);

    // Each bad-line kind produced its code.
    const codeOf = (at: number) => actual.get(customIds[at]!);
    expect(codeOf(10)).toBe('failed:server_error');
    expect(codeOf(20)).toBe('failed:http_500');
    expect(codeOf(30)).toBe('failed:http_429');
    expect(codeOf(40)).toBe('failed:invalid_content');
    expect(codeOf(50)).toBe('failed:unknown_viewpoint');
    expect(codeOf(60)).toBe('failed:missing_result');
    expect(codeOf(70)).toBe('failed:missing_result');
    expect(codeOf(80)).toBe('succeeded:');
    expect(codeOf(INVALID_CUSTOM_ID_AT)).toBe('failed:invalid_custom_id');

    // Every association, exactly.
    const { rows: associations } = await pool.query<{
      review_sentence_id: string;
      wl_spec_vp_id: string;
      batch_log_id: string;
    }>('SELECT review_sentence_id, wl_spec_vp_id, batch_log_id FROM review_sentences_wl_spec_vp');
    const expectedPairs = oracle.outcomes
      .flatMap((o) =>
        o.outcome === 'succeeded' ? o.viewpointIds.map((vp) => `${o.customId.slice(3)}:${vp}`) : [],
      )
      .sort();
    expect(associations.map((a) => `${a.review_sentence_id}:${a.wl_spec_vp_id}`).sort()).toEqual(
      expectedPairs,
    );
    expect(expectedPairs.length).toBeGreaterThan(500);
    expect(new Set(associations.map((a) => Number(a.batch_log_id)))).toEqual(new Set([batchLogId]));

    // Both counts, and the final status with its explanation.
    const succeeded = oracle.outcomes.filter((o) => o.outcome === 'succeeded').length;
    expect(row.status).toBe(2);
    expect(row.processedSentences).toBe(succeeded);
    expect(row.failedSentences).toBe(1000 - succeeded);
    expect(row.totalSentences).toBe(1000);
    const details = row.logDetails as {
      invalidLines: { count: number; samples: { file: string; line: number }[] };
    };
    expect(details.invalidLines.count).toBe(oracle.unattributableLines.length);
    expect(details.invalidLines.samples.map((s) => `${s.file}:${s.line}`)).toEqual(
      oracle.unattributableLines.map((l) => `${l.file}:${l.line}`),
    );

    // Exactly one Slack message, naming the batch, the outcome and the counts.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(slack.accepted).toHaveLength(1);
    const text = slack.accepted[0]!.body.text!;
    expect(text).toContain(providerBatchId);
    expect(text).toMatch(/\bcompleted\b/);
    expect(text).toContain(`${succeeded}/1000`);

    // No secret reached any log line.
    const logs = pipeline.logs.map((l) => l.line).join('\n');
    expect(logs).not.toContain('sk-test-canary-0123456789abcdef');
    expect(logs).not.toContain('secretwebhooktoken0000');
  });

  it('serves Prometheus metrics on each health port, counting the work done', async () => {
    const scrape = async (service: string) => {
      const logged = pipeline.logs.find((l) => l.service === service && /"healthPort":\d+/.test(l.line));
      const port = Number(/"healthPort":(\d+)/.exec(logged!.line)![1]);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      const text = await response.text();
      /** The value of the one sample of `name` carrying every label given (plus `service`). */
      const value = (name: string, labels: Record<string, string> = {}) => {
        const pairs = Object.entries({ ...labels, service }).map(([k, v]) => `${k}="${v}"`);
        const sample = text
          .split('\n')
          .find((line) => line.startsWith(`${name}{`) && pairs.every((pair) => line.includes(pair)));
        return sample === undefined ? undefined : Number(sample.slice(sample.lastIndexOf(' ') + 1));
      };
      // Default process metrics and the batches gauge (read from Postgres at scrape time) everywhere.
      expect(value('batchline_process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(value('batchline_batches', { state: 'completed' })).toBe(1);
      expect(value('batchline_batches', { state: 'processing' })).toBe(0);
      return { text, value };
    };

    const poller = await scrape('poller');
    expect(
      poller.value('batchline_poller_status_transitions_total', { provider: 'openai', to: 'completed' }),
    ).toBe(1);
    expect(poller.text).toContain('# TYPE batchline_poller_provider_errors_total counter');
    // Provider latency by provider, operation and outcome (issue 17).
    expect(poller.text).toContain('# TYPE batchline_provider_call_duration_seconds histogram');
    expect(
      poller.value('batchline_provider_call_duration_seconds_count', {
        provider: 'openai',
        operation: 'getBatch',
        outcome: 'ok',
      }),
    ).toBeGreaterThan(0);

    const fetcher = await scrape('fetcher');
    const { rows: chunks } = await pool.query<{ chunks: number }>(
      'SELECT count(*)::int AS chunks FROM batch_result_chunks WHERE batch_log_id = $1',
      [batchLogId],
    );
    expect(fetcher.value('batchline_fetcher_chunks_published_total', { provider: 'openai' })).toBe(
      chunks[0]!.chunks,
    );
    expect(
      fetcher.value('batchline_provider_call_duration_seconds_count', {
        provider: 'openai',
        operation: 'openFile',
        outcome: 'ok',
      }),
    ).toBeGreaterThan(0);
    expect(fetcher.value('batchline_fetcher_download_bytes_count', { provider: 'openai' })).toBe(1);
    expect(fetcher.value('batchline_fetcher_download_bytes_sum', { provider: 'openai' })).toBeGreaterThan(
      1000,
    );
    expect(
      fetcher.value('batchline_fetcher_download_throughput_bytes_per_second_count', { provider: 'openai' }),
    ).toBe(1);

    const persister = await scrape('persister');
    const { rows: associations } = await pool.query<{ count: number }>(
      'SELECT count(*)::int AS count FROM review_sentences_wl_spec_vp WHERE batch_log_id = $1',
      [batchLogId],
    );
    expect(persister.value('batchline_persister_rows_written_total', { kind: 'outcomes' })).toBe(1000);
    expect(persister.value('batchline_persister_rows_written_total', { kind: 'associations' })).toBe(
      associations[0]!.count,
    );
    expect(persister.value('batchline_persister_chunk_duration_seconds_count', { outcome: 'applied' })).toBe(
      chunks[0]!.chunks,
    );
    expect(persister.value('batchline_persister_chunk_rows_per_second_count')).toBe(chunks[0]!.chunks);

    const notifier = await scrape('notifier');
    expect(notifier.value('batchline_notifier_slack_sends_total', { outcome: 'sent' })).toBe(1);

    // Labels carry no batch ids (unbounded) and no secrets.
    const everything = [poller, fetcher, persister, notifier].map((m) => m.text).join('\n');
    expect(everything).not.toContain(providerBatchId);
    expect(everything).not.toContain('sk-test-canary-0123456789abcdef');
    expect(everything).not.toContain('secretwebhooktoken0000');
  });

  it('every service drains and exits 0 on SIGTERM', async () => {
    const exits = await Promise.all(pipeline.services.map((service) => service.stop()));
    expect(exits).toEqual([0, 0, 0, 0]);
  });
});
