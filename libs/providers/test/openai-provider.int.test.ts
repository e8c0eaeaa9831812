import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  CHAT_COMPLETIONS_URL,
  classifyProviderStatus,
  LineSplitter,
  parseOpenAIResultLine,
} from '@batchline/domain';
import { type BatchOutcome, type Emulator, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchProvider, createOpenAIProvider, ProviderError } from '../index.ts';

const API_KEY = 'sk-provider-test-key-0123456789';
const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };
const WHOLE_RUN = CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs;
const CATALOGUE = [
  { id: 1, name: 'Battery life' },
  { id: 2, name: 'Screen quality' },
];
const LARGE_BATCH_LINES = 20_000;
const STALL_TIMEOUT_MS = 500;

describe('OpenAI provider against the emulator', () => {
  let current = Date.UTC(2025, 0, 1);
  const advance = (ms: number) => {
    current += ms;
  };
  const outcomes = new Map<string, BatchOutcome>();
  let emulator: Emulator;
  let provider: BatchProvider;
  /** Gives up on a download after `STALL_TIMEOUT_MS` without a byte. */
  let impatient: BatchProvider;
  let dir: string;
  let smallInput: string;

  const inputFile = async (name: string, count: number) => {
    const viewpoints = builtInJobTypes().default;
    const context = {
      model: 'gpt-4o-mini',
      catalogue: CATALOGUE.map(({ id, name }) => ({ key: String(id), label: name })),
    };
    const texts = ['The battery died.', 'The screen is sharp.', 'Fine.'];
    const lines = Array.from({ length: count }, (_, i) =>
      JSON.stringify(
        viewpoints.requestLine('openai', { id: i + 1, fields: { text: texts[i % 3]! } }, context),
      ),
    );
    const path = join(dir, name);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  };
  const completedBatch = async (inputPath: string, scenario = 'normal') => {
    const created = await provider.uploadAndCreateBatch({
      inputPath,
      endpoint: CHAT_COMPLETIONS_URL,
      metadata: { scenario },
    });
    advance(WHOLE_RUN);
    return provider.getBatch(created.id);
  };
  const failureOf = async (promise: Promise<unknown>): Promise<ProviderError> => {
    const error = await promise.then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  };
  /** Reads a download to the end, counting its lines and chunks. */
  const consume = async (stream: Readable) => {
    const splitter = new LineSplitter();
    const lines: string[] = [];
    let chunks = 0;
    let largestChunk = 0;
    for await (const chunk of stream) {
      chunks += 1;
      largestChunk = Math.max(largestChunk, (chunk as Buffer).length);
      splitter.push(chunk as Buffer, ({ text }) => lines.push(text!));
    }
    splitter.end(({ text }) => lines.push(text!));
    return { lines, chunks, largestChunk };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'provider-test-'));
    smallInput = await inputFile('small.jsonl', 6);
    emulator = await startEmulator({
      apiKey: API_KEY,
      clock: CLOCK,
      now: () => current,
      batchOutcome: (batch) => outcomes.get(batch.metadata?.scenario ?? ''),
    });
    // Generous limits for the main provider, so that a loaded CI machine cannot fail the tests by slowness.
    provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: emulator.baseUrl, timeoutMs: 15_000 });
    impatient = createOpenAIProvider({
      apiKey: API_KEY,
      baseURL: emulator.baseUrl,
      timeoutMs: 15_000,
      downloadTimeoutMs: STALL_TIMEOUT_MS,
    });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads, creates and follows a batch through its normalized view', async () => {
    const created = await provider.uploadAndCreateBatch({
      inputPath: smallInput,
      endpoint: CHAT_COMPLETIONS_URL,
      metadata: { scenario: 'normal' },
    });
    expect(provider.name).toBe('openai');
    expect(created).toMatchObject({
      provider: 'openai',
      status: 'validating',
      outputFileId: null,
      errorFileId: null,
      requestCounts: { total: 0, completed: 0, failed: 0 },
      errors: [],
      createdAt: Math.floor(current / 1000) * 1000,
    });
    expect(created.inputFileId).toMatch(/^file-/);
    expect((created.raw as { id: string }).id).toBe(created.id);

    advance(WHOLE_RUN);
    const done = await provider.getBatch(created.id);
    expect(classifyProviderStatus('openai', done.status)).toMatchObject({
      terminal: true,
      reason: 'completed',
    });
    expect(done.requestCounts).toEqual({ total: 6, completed: 6, failed: 0 });
    expect(done.outputFileId).toMatch(/^file-/);
    expect(done.errorFileId).toBeNull();

    const { lines } = await consume(await provider.openFile(done.outputFileId!));
    expect(lines).toHaveLength(6);
    const parsed = lines.map((line, i) =>
      parseOpenAIResultLine(line, {
        file: 'output',
        line: i + 1,
        jobType: builtInJobTypes().default,
        isCatalogueKey: (key) => key === '1' || key === '2',
      }),
    );
    expect(parsed.every((p) => p.kind === 'record' && p.record.outcome === 'succeeded')).toBe(true);
  });

  it('normalizes a failed batch’s errors', async () => {
    outcomes.set('failed', {
      status: 'failed',
      errors: [{ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', line: 3 }],
    });
    const batch = await completedBatch(smallInput, 'failed');
    expect(batch.status).toBe('failed');
    expect(batch.errors).toEqual([
      { code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', line: 3 },
    ]);
  });

  it('cancels a batch and lists batches page by page', async () => {
    const created = await provider.uploadAndCreateBatch({
      inputPath: smallInput,
      endpoint: CHAT_COMPLETIONS_URL,
    });
    expect((await provider.cancelBatch(created.id)).status).toBe('cancelling');

    const first = await provider.listBatches({ limit: 1 });
    expect(first.batches.map((b) => b.id)).toEqual([created.id]);
    expect(first).toMatchObject({ hasMore: true, lastId: created.id });
    const second = await provider.listBatches({ limit: 1, after: first.lastId! });
    expect(second.batches).toHaveLength(1);
    expect(second.batches[0]!.id).not.toBe(created.id);
  });

  it(`streams a ${LARGE_BATCH_LINES}-line output file chunk by chunk`, async () => {
    const batch = await completedBatch(await inputFile('large.jsonl', LARGE_BATCH_LINES));
    expect(batch.requestCounts!.completed).toBe(LARGE_BATCH_LINES);
    const { lines, chunks, largestChunk } = await consume(await provider.openFile(batch.outputFileId!));
    expect(lines).toHaveLength(LARGE_BATCH_LINES);
    expect(new Set(lines.map((line) => JSON.parse(line).custom_id)).size).toBe(LARGE_BATCH_LINES);
    expect(chunks).toBeGreaterThan(10);
    expect(largestChunk).toBeLessThan(1024 * 1024);
  });

  it('hands the stream over before the body is complete, and times out when it stalls', async () => {
    const batch = await completedBatch(smallInput);
    emulator.injectHttpFault({ path: /\/content$/, stallAfterBytes: 200 });
    // Resolving at all proves openFile does not wait for the whole body: the server never sends the rest.
    const stream = await impatient.openFile(batch.outputFileId!);
    const received: Buffer[] = [];
    const error = await new Promise<unknown>((resolve) => {
      stream.on('data', (chunk: Buffer) => received.push(chunk));
      stream.on('error', resolve);
      stream.on('end', () => resolve(null));
    });
    expect(Buffer.concat(received).length).toBe(200);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'timeout', operation: 'openFile' });
  });

  it('does not count a slow consumer as a stalled download', async () => {
    const batch = await completedBatch(await inputFile('medium.jsonl', 3_000));
    const stream = await impatient.openFile(batch.outputFileId!);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    // The consumer takes far longer than the stall timeout before asking for more.
    await new Promise((resolve) => setTimeout(resolve, 3 * STALL_TIMEOUT_MS));
    let rest = 0;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest += 1;
    expect(rest).toBeGreaterThan(0);
  });

  it('fails a download cut midway as unavailable', async () => {
    const batch = await completedBatch(smallInput);
    emulator.injectHttpFault({ path: /\/content$/, truncateAfterBytes: 300 });
    const stream = await provider.openFile(batch.outputFileId!);
    const error = await failureOf(consume(stream));
    expect(error).toMatchObject({ kind: 'unavailable', operation: 'openFile' });
  });

  it('classifies rate limits with their retry delay, and does not retry', async () => {
    const batch = await provider.uploadAndCreateBatch({
      inputPath: smallInput,
      endpoint: CHAT_COMPLETIONS_URL,
    });
    const path = new RegExp(`/batches/${batch.id}$`);
    const attempts = () => emulator.requests.filter((r) => r.path.endsWith(`/batches/${batch.id}`)).length;

    const variants: Array<[Record<string, string>, number]> = [
      [{ 'retry-after': '7' }, 7_000],
      [{ 'retry-after-ms': '1500' }, 1_500],
      [{ 'x-ratelimit-reset-requests': '6m0s' }, 360_000],
    ];
    for (const [headers, retryAfterMs] of variants) {
      const before = attempts();
      emulator.injectHttpFault({ path, status: 429, headers });
      const error = await failureOf(provider.getBatch(batch.id));
      expect(error).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs, transient: true });
      expect(attempts() - before).toBe(1);
    }

    emulator.injectHttpFault({
      path,
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota.',
          type: 'insufficient_quota',
          param: null,
          code: 'insufficient_quota',
        },
      },
    });
    expect(await failureOf(provider.getBatch(batch.id))).toMatchObject({ kind: 'quota', transient: false });
  });

  it('classifies server errors, unknown ids and bad keys', async () => {
    const batch = await provider.uploadAndCreateBatch({
      inputPath: smallInput,
      endpoint: CHAT_COMPLETIONS_URL,
    });
    emulator.injectHttpFault({ path: new RegExp(`/batches/${batch.id}$`), status: 500 });
    expect(await failureOf(provider.getBatch(batch.id))).toMatchObject({ kind: 'unavailable', status: 500 });
    await expect(provider.getBatch(batch.id)).resolves.toMatchObject({ id: batch.id });

    expect(await failureOf(provider.getBatch('batch_missing'))).toMatchObject({
      kind: 'not_found',
      status: 404,
    });
    expect(await failureOf(provider.openFile('file-missing'))).toMatchObject({
      kind: 'not_found',
      status: 404,
    });
    await provider.deleteFile(batch.inputFileId!);
    expect(await failureOf(provider.deleteFile(batch.inputFileId!))).toMatchObject({ kind: 'not_found' });

    const wrongKey = 'sk-wrong-provider-key-abcdefghijkl';
    const wrong = createOpenAIProvider({ apiKey: wrongKey, baseURL: emulator.baseUrl });
    const error = await failureOf(wrong.getBatch(batch.id));
    expect(error).toMatchObject({ kind: 'auth', status: 401, providerCode: 'invalid_api_key' });
    expect(error.message).not.toContain(wrongKey);
    expect(JSON.stringify(error)).not.toContain(wrongKey);
  });

  it('times out a hanging response', async () => {
    const quick = createOpenAIProvider({ apiKey: API_KEY, baseURL: emulator.baseUrl, timeoutMs: 200 });
    emulator.injectHttpFault({ path: /\/batches\/batch_hang$/, delayMs: Number.POSITIVE_INFINITY });
    expect(await failureOf(quick.getBatch('batch_hang'))).toMatchObject({ kind: 'timeout', status: null });
  });

  it('reports a missing input file as the caller’s error, not a provider failure', async () => {
    const error = await provider
      .uploadAndCreateBatch({ inputPath: join(dir, 'absent.jsonl'), endpoint: CHAT_COMPLETIONS_URL })
      .catch((err: unknown) => err);
    expect(error).not.toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'ENOENT' });
  });
});
