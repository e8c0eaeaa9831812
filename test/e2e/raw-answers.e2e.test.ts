import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, connectBus } from '@batchline/bus';
import { createPool, type Pool } from '@batchline/db';
import { type Emulator, type LineFault, startEmulator } from '@batchline/emulator';
import { decodeEvent, type ResultsParsedEvent, Subjects } from '@batchline/events';
import { loadJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { createOpenAIProvider } from '@batchline/providers';
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
 * `keepRawAnswers` through the fetcher and persister processes: the shipped review_sentiment declaring it keeps every
 * result line of its requests (output and error file) byte for byte, a redelivered chunk keeps nothing twice, and
 * review_embeddings (without it) keeps none and ships chunks without raw answers.
 */
const EXAMPLES = fileURLToPath(new URL('../../examples/job-types', import.meta.url));
const log = createLogger({ service: 'e2e', level: 'silent' });
const REVIEWS = 30;
const DOCS = 10;

const FAULTS: Record<string, LineFault> = {
  'sent-2': { kind: 'error', code: 'server_error', message: 'The server had an error: ünïcode 🎉' },
  'sent-3': { kind: 'http', status: 500 },
  'sent-4': { kind: 'content', content: 'not JSON, "quoted", with\nline breaks' },
  'sent-5': { kind: 'omit' },
  'sent-6': { kind: 'duplicate' },
  'sent-7': { kind: 'garbage', text: '{"custom_id": "sent-truncated", "response": ' },
};

describe('raw answers kept per job type (keepRawAnswers), through the fetcher and the persister', () => {
  const namespace = testNamespace('rawanswers');
  let db: TestDatabase;
  let pool: Pool;
  let bus: Bus;
  let emulator: Emulator;
  let pipeline: RunningPipeline;
  let workDir: string;
  let env: NodeJS.ProcessEnv;
  const batches: Record<'sentiment' | 'embeddings', { batchLogId: number; providerBatchId: string }> =
    {} as never;

  const batchline = async (...args: string[]) =>
    (await execBatchline(process.execPath, [BATCHLINE_BIN, ...args], { env })).stdout;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'batchline-rawanswers-'));
    const declarations = join(workDir, 'job-types');
    await mkdir(declarations);
    const sentimentYaml = await readFile(join(EXAMPLES, 'review_sentiment.yaml'), 'utf8');
    await writeFile(join(declarations, 'review_sentiment.yaml'), `${sentimentYaml}\nkeepRawAnswers: true\n`);
    await copyFile(join(EXAMPLES, 'review_embeddings.yaml'), join(declarations, 'review_embeddings.yaml'));
    const jobTypes = loadJobTypes(declarations);
    expect(jobTypes.named('review_sentiment').declaration.keepRawAnswers).toBe(true);

    db = await createTestDatabase('rawanswers');
    pool = createPool({ connectionString: db.url, log, applicationName: 'rawanswers-e2e' });
    await pool.query(await readFile(join(EXAMPLES, 'sentiment_labels.sql'), 'utf8'));
    emulator = await startEmulator({
      clock: { validatingMs: 100, inProgressMs: 300, finalizingMs: 100 },
      jobTypes,
      lineFaults: (customId) => FAULTS[customId],
    });
    bus = await connectBus({ servers: [testNatsUrl()], name: 'rawanswers-e2e', namespace, log });
    await bus.ensureTopology();
    env = pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      extra: { BATCHLINE_JOB_TYPES: declarations, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    });
    await batchline('migrate');
    const submit = async (jobType: string, name: string, rows: object[]) => {
      const path = join(workDir, name);
      await writeFile(path, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
      const match = /batch log (\d+)\tprovider batch (\S+)/.exec(
        await batchline('submit', '--job-type', jobType, '--input', path),
      );
      if (!match) throw new Error(`submit printed no batch for ${jobType}`);
      return { batchLogId: Number(match[1]), providerBatchId: match[2]! };
    };
    batches.sentiment = await submit(
      'review_sentiment',
      'reviews.jsonl',
      Array.from({ length: REVIEWS }, (_, i) => ({ review_id: i + 1, text: `Review ${i}: "fine", ünïcode` })),
    );
    batches.embeddings = await submit(
      'review_embeddings',
      'docs.jsonl',
      Array.from({ length: DOCS }, (_, i) => ({ doc_id: `doc-${i}`, text: `Doc ${i}` })),
    );
    pipeline = startPipeline(env, ['poller', 'fetcher', 'persister']);
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

  /** The lines of the batch's output file, then its error file, as the provider serves them. */
  async function resultLines(providerBatchId: string): Promise<string[]> {
    const provider = createOpenAIProvider({
      apiKey: 'sk-test-canary-0123456789abcdef',
      baseURL: emulator.baseUrl,
    });
    const batch = await provider.getBatch(providerBatchId);
    const lines: string[] = [];
    for (const fileId of [batch.outputFileId, batch.errorFileId]) {
      if (!fileId) continue;
      const chunks: Buffer[] = [];
      for await (const chunk of await provider.openFile(fileId)) chunks.push(chunk as Buffer);
      lines.push(...Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean));
    }
    return lines;
  }

  const answersOf = async (batchLogId: number) =>
    (
      await pool.query<{ custom_id: string; answer: string }>(
        'SELECT custom_id, answer FROM batch_request_answers WHERE batch_log_id = $1',
        [batchLogId],
      )
    ).rows;

  const chunksOf = async (batchLogId: number) => {
    const chunks: { seq: number; data: Uint8Array; event: ResultsParsedEvent }[] = [];
    for await (const message of bus.readStream('BATCH_RESULTS')) {
      const event = decodeEvent(Subjects.resultsParsed, message.data);
      if (event.batchLogId === batchLogId) chunks.push({ seq: message.seq, data: message.data, event });
    }
    return chunks;
  };

  it("keeps each request's first result line byte for byte, output and error file, and a redelivery keeps none twice", async () => {
    const { batchLogId, providerBatchId } = batches.sentiment;
    await waitUntilFinal(pool, batchLogId);
    const expected = new Map<string, string>();
    for (const line of await resultLines(providerBatchId)) {
      let customId: unknown;
      try {
        customId = (JSON.parse(line) as { custom_id?: unknown }).custom_id;
      } catch {
        continue; // the garbage line: no request of its own
      }
      if (typeof customId === 'string' && /^sent-\d+$/.test(customId) && !expected.has(customId))
        expected.set(customId, line);
    }
    expect(expected.size).toBe(REVIEWS - 2); // sent-5 omitted, sent-7 garbage
    expect(expected.get('sent-2')).toContain('ünïcode 🎉');
    const stored = await answersOf(batchLogId);
    expect(new Map(stored.map((row) => [row.custom_id, row.answer]))).toEqual(expected);
    expect(stored).toHaveLength(expected.size);

    const chunks = await chunksOf(batchLogId);
    expect(chunks.length).toBeGreaterThan(0);
    for (const [i, chunk] of chunks.entries()) {
      await bus.publishResultsChunk(
        {
          batchLogId,
          chunkSeq: chunk.event.chunkSeq,
          last: chunk.event.last,
          records: chunk.event.records.length,
          data: chunk.data,
        },
        { msgId: `e2e:again:${batchLogId}:${i}` },
      );
    }
    await waitFor(
      'the persister to have handled the redelivered chunks',
      async () => {
        const backlog = await bus.backlog();
        const persister = backlog.consumers.find((c) => c.consumer === 'persister');
        return persister && persister.pending === 0 && persister.ackPending === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect((await chunksOf(batchLogId)).length).toBe(2 * chunks.length);
    expect(await answersOf(batchLogId)).toHaveLength(expected.size);
  });

  it('keeps none for a job type without it, whose chunks carry no raw answers', async () => {
    const { batchLogId } = batches.embeddings;
    const row = await waitUntilFinal(pool, batchLogId);
    expect(row.processedSentences + row.failedSentences).toBe(DOCS);
    expect(await answersOf(batchLogId)).toEqual([]);
    const chunks = await chunksOf(batchLogId);
    expect(chunks.length).toBeGreaterThan(0);
    for (const chunk of chunks) {
      expect(chunk.event.rawAnswers).toBeUndefined();
      expect(new TextDecoder().decode(chunk.data)).not.toContain('rawAnswers');
    }
  });

  it('exports them with batchline export --what answers', async () => {
    const { batchLogId } = batches.sentiment;
    const lines = (await batchline('export', String(batchLogId), '--what', 'answers', '--format', 'jsonl'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { custom_id: string; batch_log_id: number; answer: string });
    const stored = await answersOf(batchLogId);
    expect(lines.map((line) => [line.custom_id, line.batch_log_id, line.answer]).sort()).toEqual(
      stored.map((row) => [row.custom_id, batchLogId, row.answer]).sort(),
    );
  });
});
