import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import { createPool, getBatchLog, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { openAIRequestLine, viewpointSystemPrompt } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
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
import { sampleReviewSentences, sampleViewpoints } from '../../../cli/src/demo/sample-data.ts';

export const execBatchline = promisify(execFile);
const log = createLogger({ service: 'e2e', level: 'silent' });

/** A database, NATS namespace, emulator and Slack receiver, with the four services running against them. */
export interface PipelineWorld {
  db: TestDatabase;
  pool: Pool;
  bus: Bus;
  emulator: Emulator;
  slack: SlackReceiver;
  pipeline: RunningPipeline;
  /** The environment of the service processes (use it to run `batchline` commands against the same world). */
  env: NodeJS.ProcessEnv;
  provider: BatchProvider;
  /** Creates a batch of `sentences` review sentences at the emulator; returns its provider batch id. */
  createBatch(sentences: number, seed: number): Promise<string>;
  /** Creates a batch of `sentences` review sentences at the emulator and adopts it with `batchline track`. */
  trackBatch(sentences: number, seed: number): Promise<{ batchLogId: number; providerBatchId: string }>;
  /** Waits until the batch is final and its final message has been dispatched. */
  waitUntilAnnounced(batchLogId: number): Promise<void>;
  close(): Promise<void>;
}

export async function startPipelineWorld(
  label: string,
  extraEnv: Record<string, string> = {},
): Promise<PipelineWorld> {
  const db = await createTestDatabase(label);
  const pool = createPool({ connectionString: db.url, log, applicationName: `${label}-test` });
  await migrate(pool, log);
  const viewpoints = sampleViewpoints();
  await upsertViewpoints(pool, viewpoints);
  const slack = await startSlackReceiver();
  const emulator = await startEmulator({
    clock: { validatingMs: 100, inProgressMs: 500, finalizingMs: 100 },
  });
  const namespace = testNamespace(label);
  const bus = await connectBus({ servers: [testNatsUrl()], name: `${label}-test`, namespace, log });
  await bus.ensureTopology();
  const workDir = await mkdtemp(join(tmpdir(), `batchline-${label}-`));
  const env = pipelineEnv({
    databaseUrl: db.url,
    natsUrl: testNatsUrl(),
    namespace,
    openaiBaseUrl: emulator.baseUrl,
    slackWebhookUrl: slack.url,
    extra: extraEnv,
  });
  const provider = createOpenAIProvider({
    apiKey: 'sk-test-canary-0123456789abcdef',
    baseURL: emulator.baseUrl,
  });
  const systemPrompt = viewpointSystemPrompt(viewpoints);
  const pipeline = startPipeline(env);

  const createBatch = async (count: number, seed: number): Promise<string> => {
    const inputPath = join(workDir, `input-${seed}.jsonl`);
    const lines = sampleReviewSentences(count, seed).map((s) =>
      JSON.stringify(
        openAIRequestLine({
          // Distinct sentences per seed, so batches do not share associations.
          reviewSentenceId: s.review_sentence_id + seed * 10_000,
          text: s.text,
          model: 'gpt-4o-mini',
          systemPrompt,
        }),
      ),
    );
    await writeFile(inputPath, `${lines.join('\n')}\n`);
    const { id } = await provider.uploadAndCreateBatch({ inputPath, endpoint: '/v1/chat/completions' });
    return id;
  };

  return {
    db,
    pool,
    bus,
    emulator,
    slack,
    pipeline,
    env,
    provider,
    createBatch,
    async trackBatch(count, seed) {
      const providerBatchId = await createBatch(count, seed);
      // `track` is a command, not a service: it runs without the services' tracing.
      const commandEnv = { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: '' };
      const tracked = await execBatchline(process.execPath, [BATCHLINE_BIN, 'track', providerBatchId], {
        env: commandEnv,
      });
      const batchLogId = Number(/batch log (\d+)/.exec(tracked.stdout)?.[1]);
      if (!(batchLogId > 0)) throw new Error(`track printed no batch log id: ${tracked.stdout}`);
      return { batchLogId, providerBatchId };
    },
    async waitUntilAnnounced(batchLogId) {
      await waitFor(
        `batch log ${batchLogId} to be final and announced`,
        async () => {
          const row = await getBatchLog(pool, batchLogId);
          return Boolean(row && row.status !== 1 && row.finalNotifiedAt !== null);
        },
        { timeoutMs: 90_000, intervalMs: 200 },
      );
    },
    async close() {
      await pipeline.stop();
      await bus.deleteTopology();
      await bus.drain();
      await emulator.close();
      await slack.close();
      await pool.end();
      await db.drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
