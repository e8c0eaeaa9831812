import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import {
  createPool,
  getBatchJob,
  migrate,
  type Pool,
  readBatchJobFigures,
  upsertViewpoints,
} from '@batchline/db';
import { type Emulator, startEmulator, transientFailures } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
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
const REQUESTS = 3000;
/** Requests whose answer is never valid: `invalid_content`, which no retry policy retries by default. */
const NEVER_VALID_AT = [7, 700, 1700, 2900];

/**
 * Issue 15's end-to-end test: a job of 3,000 requests split into two batches (SUBMIT_MAX_REQUESTS_PER_FILE), the
 * first expiring with partial output, both with transient 429/500 failures; the monitor's retrier makes rounds
 * until every retryable request succeeded; the job ends once, with one Slack message.
 */
describe('a job whose retry rounds converge, end to end with the monitor', () => {
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let slack: SlackReceiver;
  let pipeline: RunningPipeline;
  let bus: Bus;
  let workDir: string;
  let batchJobId: number;
  let env: NodeJS.ProcessEnv;
  const namespace = testNamespace('e2ejob');
  const sentences = sampleReviewSentences(REQUESTS, 15);
  const neverValid = new Set(NEVER_VALID_AT.map((at) => `rs-${sentences[at]!.review_sentence_id}`));

  beforeAll(async () => {
    db = await createTestDatabase('e2e_job_rounds');
    pool = createPool({ connectionString: db.url, log, applicationName: 'e2e-test' });
    await migrate(pool, log);
    await upsertViewpoints(pool, sampleViewpoints());
    slack = await startSlackReceiver();
    const transient = transientFailures({ share: 0.1, failedAttempts: 1 });
    let created = 0;
    emulator = await startEmulator({
      clock: { validatingMs: 200, inProgressMs: 1000, finalizingMs: 200 },
      lineFaults: (customId, request, attempt) =>
        neverValid.has(customId)
          ? { kind: 'content', content: 'I think this sentence is about the battery.' }
          : transient(customId, request, attempt),
      // The job's first batch expires with 60 % of its requests answered.
      batchOutcome: () => (++created === 1 ? { status: 'expired', completedFraction: 0.6 } : undefined),
    });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'e2e-job-test', namespace, log });
    await bus.ensureTopology();
    workDir = await mkdtemp(join(tmpdir(), 'batchline-e2e-job-'));
    const input = join(workDir, 'input.jsonl');
    await writeFile(input, `${sentences.map((s) => JSON.stringify(s)).join('\n')}\n`);

    env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      slackWebhookUrl: slack.url,
      extra: {
        SUBMIT_MAX_REQUESTS_PER_FILE: '1500',
        RETRY_DELAY: '200ms',
        RETRY_MAX_ROUNDS: '3',
        RETRY_SWEEP_INTERVAL: '200ms',
        MONITOR_PORT: '0',
      },
    });
    const submitted = await run(process.execPath, [BATCHLINE_BIN, 'submit', '--input', input], { env });
    batchJobId = Number(/batch job (\d+)/.exec(submitted.stdout)?.[1]);
    expect(batchJobId).toBeGreaterThan(0);
    pipeline = startPipeline(env, ['poller', 'fetcher', 'persister', 'notifier', 'monitor']);
  });

  afterAll(async () => {
    await pipeline?.stop();
    await bus?.deleteTopology();
    await bus?.drain();
    await emulator?.close();
    await slack?.close();
    await pool?.end();
    await db?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('retries until every retryable request succeeded, and announces the job once', async () => {
    const job = await waitFor(
      'the job to be finalized and its message sent',
      async () => {
        const { rows } = await pool.query(`SELECT state FROM notifications WHERE event_key = $1`, [
          `job-final:${batchJobId}`,
        ]);
        return rows[0]?.state === 'sent' ? getBatchJob(pool, batchJobId) : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const [figures] = await readBatchJobFigures(pool, [batchJobId]);
    expect(figures).toMatchObject({
      totalRequests: REQUESTS,
      succeededRequests: REQUESTS - neverValid.size,
      failedRequests: neverValid.size,
      unresolvedRequests: 0,
      pendingBatches: 0,
    });
    expect(figures!.retryRounds).toBeGreaterThanOrEqual(1);
    expect(job).toMatchObject({ outcome: 'partially_succeeded' });

    // Two parts, one expired; every round linked to its parent.
    const { rows: batches } = await pool.query(
      `SELECT part_index, retry_round, parent_batch_log_id, provider_status FROM batch_jobs_vp_logs
       WHERE batch_job_id = $1 ORDER BY id`,
      [batchJobId],
    );
    expect(batches.filter((b) => b.part_index !== null)).toHaveLength(2);
    expect(batches[0]!.provider_status).toBe('expired');
    expect(batches.filter((b) => b.retry_round > 0).every((b) => b.parent_batch_log_id !== null)).toBe(true);

    // The requests that finally failed are the never-valid ones, with their code.
    const { rows: finallyFailed } = await pool.query(
      `SELECT DISTINCT ON (r.custom_id) r.custom_id, r.error_code
       FROM batch_request_results r JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id
       WHERE l.batch_job_id = $1 AND NOT EXISTS (
         SELECT 1 FROM batch_request_results s JOIN batch_jobs_vp_logs sl ON sl.id = s.batch_log_id
         WHERE sl.batch_job_id = $1 AND s.custom_id = r.custom_id AND s.outcome = 'succeeded')
       ORDER BY r.custom_id, r.batch_log_id DESC`,
      [batchJobId],
    );
    expect(new Set(finallyFailed.map((r) => r.custom_id))).toEqual(neverValid);
    expect(new Set(finallyFailed.map((r) => r.error_code))).toEqual(new Set(['invalid_content']));

    // The landed rows are exactly those of the requests that succeeded.
    const { rows: landed } = await pool.query<{ id: string }>(
      'SELECT DISTINCT review_sentence_id AS id FROM review_sentences_wl_spec_vp',
    );
    const { rows: succeeded } = await pool.query<{ custom_id: string }>(
      `SELECT DISTINCT r.custom_id FROM batch_request_results r JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id
       WHERE l.batch_job_id = $1 AND r.outcome = 'succeeded'`,
      [batchJobId],
    );
    const succeededIds = new Set(succeeded.map((r) => r.custom_id));
    expect(landed.filter((r) => !succeededIds.has(`rs-${r.id}`))).toEqual([]);
    expect(landed.length).toBeGreaterThan(REQUESTS / 2);

    // The export of the job's rows (`batchline export`, streamed from Postgres) is exactly the landed rows.
    const exported = await run(
      process.execPath,
      [BATCHLINE_BIN, 'export', `job-${batchJobId}`, '--what', 'rows', '--format', 'jsonl'],
      { env, maxBuffer: 64 * 1024 * 1024 },
    );
    const exportedRows = exported.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .map((row) => `${row.review_sentence_id}:${row.wl_spec_vp_id}:${row.batch_log_id}`);
    const { rows: landedRows } = await pool.query<{ key: string }>(
      `SELECT review_sentence_id || ':' || wl_spec_vp_id || ':' || batch_log_id AS key
       FROM review_sentences_wl_spec_vp`,
    );
    expect(exportedRows.length).toBe(landedRows.length);
    expect(new Set(exportedRows)).toEqual(new Set(landedRows.map((row) => row.key)));

    // One job message, and one job.finalized.
    const jobMessages = slack.accepted.filter((m) => m.body.text?.includes(`job ${batchJobId} `));
    expect(jobMessages).toHaveLength(1);
    expect(jobMessages[0]!.body.text).toContain(
      `${REQUESTS - neverValid.size} succeeded, ${neverValid.size} failed of ${REQUESTS}`,
    );
    let published = 0;
    for await (const message of bus.readStream('BATCH_FINAL', { subject: 'job.finalized' })) {
      if (JSON.parse(Buffer.from(message.data).toString()).batchJobId === batchJobId) published++;
    }
    expect(published).toBe(1);
  }, 300_000);
});
