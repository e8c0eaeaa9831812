import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import { createPool, getBatchLog, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { type Emulator, type MessageBatchOutcome, startEmulator } from '@batchline/emulator';
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
const log = createLogger({ service: 'e2e-anthropic', level: 'silent' });
const ANTHROPIC_KEY = 'sk-ant-e2e-canary-0123456789';

describe('batchline submit --provider anthropic, end to end', () => {
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let slack: SlackReceiver;
  let pipeline: RunningPipeline;
  let bus: Bus;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  const namespace = testNamespace('anth');
  const sentences = sampleReviewSentences(300, 11);
  /** The first batch completes; the second is cancelled halfway (status 9 with what ran). */
  const outcomes: (MessageBatchOutcome | undefined)[] = [
    undefined,
    { status: 'cancelled', completedFraction: 0.5 },
  ];
  const failing = `rs-${sentences[5]!.review_sentence_id}`;

  const submit = async (input: string) => {
    const { stdout } = await run(
      process.execPath,
      [BATCHLINE_BIN, 'submit', '--input', input, '--provider', 'anthropic'],
      {
        env,
      },
    );
    const match = /batch log (\d+)\tprovider batch (\S+)/.exec(stdout);
    expect(match).not.toBeNull();
    return { batchLogId: Number(match![1]), providerBatchId: match![2]! };
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_anthropic');
    pool = createPool({ connectionString: db.url, log, applicationName: 'e2e-anthropic' });
    await migrate(pool, log);
    await upsertViewpoints(pool, sampleViewpoints());
    slack = await startSlackReceiver();
    let created = 0;
    emulator = await startEmulator({
      apiKey: ANTHROPIC_KEY,
      clock: { validatingMs: 200, inProgressMs: 1000, finalizingMs: 200 },
      lineFaults: (customId) =>
        customId === failing ? { kind: 'error', code: 'overloaded_error', message: 'Overloaded' } : undefined,
      messageBatchOutcome: () => outcomes[created++],
    });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'e2e-anthropic', namespace, log });
    await bus.ensureTopology();
    workDir = await mkdtemp(join(tmpdir(), 'batchline-e2e-anthropic-'));
    env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      slackWebhookUrl: slack.url,
      extra: { ANTHROPIC_BASE_URL: emulator.anthropicBaseUrl, ANTHROPIC_API_KEY: ANTHROPIC_KEY },
    });
    // An Anthropic-only install: no OpenAI key or URL at all.
    delete env.OPENAI_API_KEY;
    delete env.OPENAI_BASE_URL;
    pipeline = startPipeline(env);
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

  it('submits to Anthropic, polls, fetches the results stream and lands every outcome exactly once', async () => {
    const inputPath = join(workDir, 'sentences.jsonl');
    await writeFile(inputPath, `${sentences.map((s) => JSON.stringify(s)).join('\n')}\n`);
    const completed = await submit(inputPath);
    const cancelledInput = join(workDir, 'more.jsonl');
    await writeFile(
      cancelledInput,
      `${sentences
        .slice(0, 100)
        .map((s) => JSON.stringify(s))
        .join('\n')}\n`,
    );
    const cancelled = await submit(cancelledInput);
    expect(completed.providerBatchId).toMatch(/^msgbatch_/);

    // A manual check works on an Anthropic batch too.
    const polled = await run(process.execPath, [BATCHLINE_BIN, 'poll', String(completed.batchLogId)], {
      env,
    });
    expect(polled.stdout).toMatch(new RegExp(`batch log ${completed.batchLogId}`));

    for (const batch of [completed, cancelled]) {
      await waitFor(
        `batch ${batch.batchLogId} final and announced`,
        async () => {
          const row = await getBatchLog(pool, batch.batchLogId);
          return row && row.status !== 1 && row.finalNotifiedAt !== null ? row : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 200 },
      );
    }

    for (const [batch, status, total] of [
      [completed, 2, 300],
      [cancelled, 9, 100],
    ] as const) {
      const row = (await getBatchLog(pool, batch.batchLogId))!;
      const oracle = await emulator.expectedOutcomes(batch.providerBatchId);
      const { rows } = await pool.query<{ custom_id: string; outcome: string; error_code: string | null }>(
        'SELECT custom_id, outcome, error_code FROM batch_request_results WHERE batch_log_id = $1',
        [batch.batchLogId],
      );
      expect(rows).toHaveLength(total);
      expect(new Map(rows.map((r) => [r.custom_id, `${r.outcome}:${r.error_code ?? ''}`]))).toEqual(
        new Map(
          oracle.outcomes.map((o) => [
            o.customId,
            o.outcome === 'succeeded' ? 'succeeded:' : `failed:${o.errorCode}`,
          ]),
        ),
      );
      expect(row).toMatchObject({ status, provider: 'anthropic', totalSentences: total });
      expect(row.processedSentences + row.failedSentences).toBe(total);
      expect(row.logDetails).toMatchObject({ inputUnavailable: null, missingResults: 0 });
    }
    const cancelledCodes = await pool.query(
      `SELECT count(*)::int AS n FROM batch_request_results WHERE batch_log_id = $1 AND error_code = 'batch_cancelled'`,
      [cancelled.batchLogId],
    );
    expect(cancelledCodes.rows[0].n).toBe(50);
    const completedRow = (await getBatchLog(pool, completed.batchLogId))!;
    expect(completedRow.failedSentences).toBe(1);
    expect(completedRow.logDetails).toMatchObject({
      reason: 'completed',
      errorCodes: { overloaded_error: 1 },
    });
    expect((await getBatchLog(pool, cancelled.batchLogId))!.logDetails).toMatchObject({
      reason: 'cancelled',
    });

    // One final Slack message per batch, naming the provider batch.
    await waitFor('two final messages', () => slack.accepted.length >= 2);
    for (const batch of [completed, cancelled]) {
      expect(
        slack.accepted.filter((m) => JSON.stringify(m.body).includes(batch.providerBatchId)),
      ).toHaveLength(1);
    }
  });
});
