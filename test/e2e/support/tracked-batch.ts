import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Bus, connectBus } from '@batchline/bus';
import { createPool, getBatchLog, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
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
import { expect } from 'vitest';
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
  const viewpointJobType = builtInJobTypes().default;
  const requestContext = {
    model: 'gpt-4o-mini',
    catalogue: viewpoints.map(({ id, name }) => ({ key: String(id), label: name })),
  };
  const pipeline = startPipeline(env);

  const createBatch = async (count: number, seed: number): Promise<string> => {
    const inputPath = join(workDir, `input-${seed}.jsonl`);
    const lines = sampleReviewSentences(count, seed).map((s) =>
      JSON.stringify(
        viewpointJobType.requestLine(
          'openai',
          // Distinct sentences per seed, so batches do not share associations.
          { id: s.review_sentence_id + seed * 10_000, fields: { text: s.text } },
          requestContext,
        ),
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

/** The batch log once its results have landed (no longer pending). */
export const waitUntilFinal = (pool: Pool, batchLogId: number) =>
  waitFor(
    `batch log ${batchLogId} to be final`,
    async () => {
      const row = await getBatchLog(pool, batchLogId);
      return row && row.status !== BatchStatus.pending ? row : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );

/** How many chunks of a batch the persister has committed. */
export async function ledgerRows(world: Pick<PipelineWorld, 'pool'>, batchLogId: number): Promise<number> {
  const { rows } = await world.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM batch_result_chunks WHERE batch_log_id = $1',
    [batchLogId],
  );
  return rows[0]!.n;
}

/** Every outcome and association exactly as the emulator served them, the counts, status 2 and one Slack message. */
export async function expectLandedExactlyOnce(
  world: PipelineWorld,
  batchLogId: number,
  providerBatchId: string,
  requests: number,
) {
  await world.waitUntilAnnounced(batchLogId);
  const oracle = await world.emulator.expectedOutcomes(providerBatchId);
  expect(oracle.outcomes).toHaveLength(requests);

  const { rows: results } = await world.pool.query<{ custom_id: string; outcome: string; code: string }>(
    `SELECT custom_id, outcome, coalesce(error_code, '') AS code FROM batch_request_results
     WHERE batch_log_id = $1`,
    [batchLogId],
  );
  expect(results).toHaveLength(requests);
  expect(new Map(results.map((r) => [r.custom_id, `${r.outcome}:${r.code}`]))).toEqual(
    new Map(
      oracle.outcomes.map((o) => [
        o.customId,
        o.outcome === 'succeeded' ? 'succeeded:' : `failed:${o.errorCode}`,
      ]),
    ),
  );

  const { rows: associations } = await world.pool.query<{ pair: string }>(
    `SELECT review_sentence_id || ':' || wl_spec_vp_id AS pair FROM review_sentences_wl_spec_vp
     WHERE batch_log_id = $1`,
    [batchLogId],
  );
  const expectedPairs = oracle.outcomes.flatMap((o) =>
    o.outcome === 'succeeded' ? o.viewpointIds.map((id) => `${o.customId.slice(3)}:${id}`) : [],
  );
  expect(expectedPairs.length).toBeGreaterThan(requests / 2);
  expect(associations.map((a) => a.pair).sort()).toEqual(expectedPairs.sort());

  const succeeded = oracle.outcomes.filter((o) => o.outcome === 'succeeded').length;
  const log = await getBatchLog(world.pool, batchLogId);
  expect(log).toMatchObject({
    status: 2,
    totalSentences: requests,
    processedSentences: succeeded,
    failedSentences: requests - succeeded,
  });
  expect(await ledgerRows(world, batchLogId)).toBe(log!.expectedChunks);

  // The final message is dispatched once; give a second (mistaken) one the time to arrive before counting.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const messages = world.slack.accepted.filter((m) => m.body.text?.includes(providerBatchId));
  expect(messages).toHaveLength(1);
  expect(messages[0]!.body.text).toMatch(/\bcompleted\b/);
  return log!;
}
