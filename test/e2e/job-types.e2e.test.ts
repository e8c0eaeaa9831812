import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, connectBus, type DeadLetter, deadLetterOf } from '@batchline/bus';
import { createPool, getBatchLog, insertBatchLog, type Pool } from '@batchline/db';
import { type Emulator, type ExpectedOutcome, type LineFault, startEmulator } from '@batchline/emulator';
import { encodeResultsChunk, type OpsErrorEvent } from '@batchline/events';
import { loadJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
import { BATCHLINE_BIN } from '@batchline/supervisor';
import {
  createTestDatabase,
  pipelineEnv,
  type RunningPipeline,
  startPipeline,
  type TestDatabase,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execBatchline, waitUntilFinal } from './support/tracked-batch.ts';

/**
 * The two shipped examples (examples/job-types) as a user runs them: `migrate` creates their tables, `submit
 * --job-type` (and `track --job-type`) sends their requests to the emulator, and the four services land what it
 * answers — every failure code included — exactly as the emulator's oracle says.
 */
const EXAMPLES = fileURLToPath(new URL('../../examples/job-types', import.meta.url));
const log = createLogger({ service: 'e2e', level: 'silent' });

const SENTIMENT_REVIEWS = 40;
const EMBEDDED_DOCS = 30;
const sentimentId = (i: number) => 7001 + i;
const docId = (i: number) => `doc-${i + 1}.e2e`;

/** Scripted failures by custom id: one of each kind of contract §4 that a provider line can carry. */
const FAULTS: Record<string, LineFault> = {
  [`sent-${sentimentId(1)}`]: { kind: 'error', code: 'server_error', message: 'The server had an error.' },
  [`sent-${sentimentId(2)}`]: { kind: 'http', status: 500 },
  [`sent-${sentimentId(3)}`]: { kind: 'content', content: 'A positive review, I would say.' },
  [`sent-${sentimentId(4)}`]: { kind: 'content', content: '{"label":"positive","score":7}' },
  [`sent-${sentimentId(5)}`]: { kind: 'content', content: '{"label":"ecstatic","score":0.9}' },
  [`sent-${sentimentId(6)}`]: { kind: 'omit' },
  [`sent-${sentimentId(7)}`]: { kind: 'garbage', text: '{"custom_id": "sent-truncated", "response": ' },
  [`sent-${sentimentId(8)}`]: { kind: 'duplicate' },
  [`emb-${docId(1)}`]: { kind: 'error', code: 'server_error', message: 'The server had an error.' },
  [`emb-${docId(2)}`]: { kind: 'http', status: 429, message: 'Rate limit reached' },
  [`emb-${docId(3)}`]: { kind: 'omit' },
};

interface Submitted {
  batchLogId: number;
  providerBatchId: string;
}

describe('the shipped job types, end to end through migrate, submit --job-type and the four services', () => {
  const namespace = testNamespace('jobtypes');
  const jobTypes = loadJobTypes(EXAMPLES);
  const sentiment = jobTypes.named('review_sentiment');
  const embeddings = jobTypes.named('review_embeddings');
  let db: TestDatabase;
  let pool: Pool;
  let bus: Bus;
  let emulator: Emulator;
  let pipeline: RunningPipeline;
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let sentimentBatch: Submitted;
  let embeddingsBatch: Submitted;
  let trackedBatch: Submitted;
  let provider: BatchProvider;
  let trackedLines: Record<string, unknown>[];

  const batchline = async (...args: string[]) =>
    (await execBatchline(process.execPath, [BATCHLINE_BIN, ...args], { env })).stdout;
  const submitted = (stdout: string): Submitted => {
    const match = /batch log (\d+)\tprovider batch (\S+)/.exec(stdout);
    if (!match) throw new Error(`submit printed no batch: ${stdout}`);
    return { batchLogId: Number(match[1]), providerBatchId: match[2]! };
  };
  const writeJsonl = async (name: string, rows: object[]) => {
    const path = join(workDir, name);
    await writeFile(path, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
    return path;
  };

  beforeAll(async () => {
    db = await createTestDatabase('jobtypes');
    pool = createPool({ connectionString: db.url, log, applicationName: 'jobtypes-e2e' });
    await pool.query(await readFile(join(EXAMPLES, 'sentiment_labels.sql'), 'utf8'));
    emulator = await startEmulator({
      clock: { validatingMs: 100, inProgressMs: 400, finalizingMs: 100 },
      jobTypes,
      // Spoiled answers besides the scripted faults: for embeddings, bodies without a usable vector.
      answerShares: { byJobType: { review_embeddings: { invalid: 0.2 } } },
      lineFaults: (customId) => FAULTS[customId],
    });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'jobtypes-e2e', namespace, log });
    await bus.ensureTopology();
    workDir = await mkdtemp(join(tmpdir(), 'batchline-jobtypes-'));
    env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      extra: { BATCHLINE_JOB_TYPES: EXAMPLES, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    });

    const migrated = await batchline('migrate');
    expect(migrated).toContain('created table review_sentiments for job type review_sentiment');
    expect(migrated).toContain('created table review_embeddings for job type review_embeddings');

    const reviews = await writeJsonl(
      'reviews.jsonl',
      Array.from({ length: SENTIMENT_REVIEWS }, (_, i) => ({
        review_id: sentimentId(i),
        text:
          i % 3 === 0
            ? `Great phone, the battery lasts (${i}).`
            : `Broke after a week, support ignored me (${i}).`,
      })),
    );
    sentimentBatch = submitted(
      await batchline('submit', '--job-type', 'review_sentiment', '--input', reviews),
    );
    const docs = await writeJsonl(
      'docs.jsonl',
      Array.from({ length: EMBEDDED_DOCS }, (_, i) => ({
        doc_id: docId(i),
        text: `Review number ${i} says hello.`,
      })),
    );
    embeddingsBatch = submitted(
      await batchline('submit', '--job-type', 'review_embeddings', '--input', docs),
    );

    // A batch of embeddings created elsewhere, one of its custom ids not of the form emb-<id>, adopted by `track`.
    trackedLines = ['a', 'b', 'c'].map((id) =>
      embeddings.requestLine(
        'openai',
        { id, fields: { text: `tracked ${id}` } },
        {
          model: 'text-embedding-3-small',
          catalogue: [],
        },
      ),
    );
    trackedLines[2] = { ...trackedLines[2], custom_id: 'emb-not an id' };
    provider = createOpenAIProvider({
      apiKey: 'sk-test-canary-0123456789abcdef',
      baseURL: emulator.baseUrl,
    });
    const created = await provider.uploadAndCreateBatch({
      inputPath: await writeJsonl('tracked.jsonl', trackedLines),
      endpoint: '/v1/embeddings',
    });
    const tracked = await batchline('track', created.id, '--job-type', 'review_embeddings');
    trackedBatch = { batchLogId: Number(/batch log (\d+)/.exec(tracked)?.[1]), providerBatchId: created.id };

    pipeline = startPipeline(env);
  }, 120_000);

  afterAll(async () => {
    await pipeline?.stop();
    await bus?.deleteTopology();
    await bus?.drain();
    await emulator?.close();
    await pool?.end();
    await db?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  /** The outcomes landed for a batch equal the oracle's, one each; returns the oracle's succeeded outcomes. */
  async function expectOutcomesOfOracle(batch: Submitted, requests: number) {
    const row = await waitUntilFinal(pool, batch.batchLogId);
    const oracle = await emulator.expectedOutcomes(batch.providerBatchId);
    expect(oracle.final).toBe(true);
    expect(oracle.outcomes).toHaveLength(requests);
    const { rows } = await pool.query<{ custom_id: string; result: string }>(
      `SELECT custom_id, outcome || ':' || coalesce(error_code, '') AS result FROM batch_request_results
       WHERE batch_log_id = $1`,
      [batch.batchLogId],
    );
    const expected = (o: ExpectedOutcome) =>
      o.outcome === 'succeeded' ? 'succeeded:' : `failed:${o.errorCode}`;
    expect(new Map(rows.map((r) => [r.custom_id, r.result]))).toEqual(
      new Map(oracle.outcomes.map((o) => [o.customId, expected(o)])),
    );
    const succeeded = oracle.outcomes.flatMap((o) => (o.outcome === 'succeeded' ? [o] : []));
    expect(row).toMatchObject({
      status: 2,
      totalSentences: requests,
      processedSentences: succeeded.length,
      failedSentences: requests - succeeded.length,
    });
    return { succeeded, codes: new Set(rows.map((r) => r.result)) };
  }

  it('lands review_sentiment: one row per succeeded review, as the emulator answered, every failure code', async () => {
    const { succeeded, codes } = await expectOutcomesOfOracle(sentimentBatch, SENTIMENT_REVIEWS);
    for (const code of [
      'failed:server_error',
      'failed:http_500',
      'failed:invalid_content',
      'failed:unknown_label',
      'failed:missing_result',
    ]) {
      expect(codes).toContain(code);
    }
    const { rows } = await pool.query<{
      review_id: string;
      label: string;
      score: number;
      batch_log_id: string;
    }>('SELECT review_id, label, score, batch_log_id FROM review_sentiments ORDER BY review_id');
    expect(rows.map((r) => [Number(r.review_id), r.label, r.score])).toEqual(
      succeeded.map((o) => [o.requestId, ...o.rows[0]!]).sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
    expect(new Set(rows.map((r) => Number(r.batch_log_id)))).toEqual(new Set([sentimentBatch.batchLogId]));
    const { rows: ledger } = await pool.query<{ rows: number }>(
      'SELECT sum(associations)::int AS rows FROM batch_result_chunks WHERE batch_log_id = $1',
      [sentimentBatch.batchLogId],
    );
    expect(ledger[0]!.rows).toBe(succeeded.length);
  });

  it('lands review_embeddings: each vector into real[], as the emulator answered, every failure code', async () => {
    const { succeeded, codes } = await expectOutcomesOfOracle(embeddingsBatch, EMBEDDED_DOCS);
    for (const code of [
      'failed:server_error',
      'failed:http_429',
      'failed:invalid_content',
      'failed:missing_result',
    ]) {
      expect(codes).toContain(code);
    }
    const { rows } = await pool.query<{ doc_id: string; embedding: number[] }>(
      'SELECT doc_id, embedding FROM review_embeddings WHERE batch_log_id = $1 ORDER BY doc_id',
      [embeddingsBatch.batchLogId],
    );
    // real holds single precision: compare as Postgres stores the vectors.
    const asReal = (vector: unknown) => (vector as number[]).map((n) => Math.fround(n));
    const expected = succeeded
      .map((o) => [o.requestId as string, asReal(o.rows[0]![0])] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    expect(rows.map((r) => [r.doc_id, asReal(r.embedding)])).toEqual(expected);
    expect(expected.every(([, vector]) => vector.length === 8)).toBe(true);
  });

  it('adopts a batch with track --job-type, recording a malformed custom id as invalid_custom_id', async () => {
    const { succeeded, codes } = await expectOutcomesOfOracle(trackedBatch, 3);
    expect(codes).toContain('failed:invalid_custom_id');
    const { rows } = await pool.query<{ doc_id: string }>(
      'SELECT doc_id FROM review_embeddings WHERE batch_log_id = $1 ORDER BY doc_id',
      [trackedBatch.batchLogId],
    );
    expect(rows.map((r) => r.doc_id)).toEqual(succeeded.map((o) => o.requestId).sort());
  });

  it('keeps a batch of a job type the services were not given, and tells operators why', async () => {
    // Recorded by a CLI that knew a job type these services were started without.
    const created = await provider.uploadAndCreateBatch({
      inputPath: await writeJsonl('undeclared.jsonl', trackedLines.slice(0, 2)),
      endpoint: '/v1/embeddings',
    });
    const { id } = await insertBatchLog(pool, {
      provider: 'openai',
      batchId: created.id,
      model: null,
      jobType: 'retired_embeddings',
      totalSentences: 2,
      inputFileId: created.inputFileId,
      firstPollDelayMs: 0,
    });
    const notice = await waitFor(
      'an ops.error about the batch',
      async () => {
        for await (const message of bus.readStream('OPS', { subject: 'ops.error' })) {
          const event = JSON.parse(new TextDecoder().decode(message.data)) as OpsErrorEvent;
          if (event.batchLogId === id) return event;
        }
        return undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(notice).toMatchObject({ kind: 'results_unreadable', service: 'fetcher' });
    expect(notice.detail).toContain('its job type "retired_embeddings" is not declared here');
    expect(notice.nextStep).toContain('BATCHLINE_JOB_TYPES');
    expect(await getBatchLog(pool, id)).toMatchObject({
      status: 1,
      processedSentences: 0,
      failedSentences: 0,
    });
  });

  it('dead-letters a chunk whose rows do not fit its job type, and lands nothing of it', async () => {
    const chunk = encodeResultsChunk(
      {
        batchLogId: sentimentBatch.batchLogId,
        provider: 'openai',
        providerBatchId: sentimentBatch.providerBatchId,
        jobType: sentiment.name,
        chunkSeq: 99,
        last: false,
        chunkCount: null,
        summary: null,
      },
      [JSON.stringify([`sent-${sentimentId(39)}`, sentimentId(39), [['positive']], null, null, 1, 1])],
    );
    await bus.publishResultsChunk(chunk, { msgId: `e2e:malformed:${sentimentBatch.batchLogId}` });
    const letter = await waitFor('the chunk to be dead-lettered', async () => {
      const letters: DeadLetter[] = [];
      for await (const message of bus.readStream('DLQ')) letters.push(deadLetterOf(message, bus.naming));
      return letters.find((l) => l.subject === 'batch.results.parsed');
    });
    expect(letter.consumer).toBe('persister');
    expect(letter.error).toContain('a row of 2 values expected');
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM batch_result_chunks WHERE batch_log_id = $1 AND chunk_seq = 99',
      [sentimentBatch.batchLogId],
    );
    expect(rows[0]!.n).toBe(0);
    expect(pipeline.services.every((service) => service.child.exitCode === null)).toBe(true);
  });
});
