import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { classifyProviderStatus, LineSplitter, type ParsedLine } from '@batchline/domain';
import { type Emulator, type MessageBatchOutcome, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BatchProvider, createAnthropicProvider, ProviderError } from '../index.ts';

const API_KEY = 'sk-ant-provider-test-0123456789';
const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };
const CATALOGUE = [
  { id: 1, name: 'Battery life' },
  { id: 2, name: 'Screen quality' },
];

describe('Anthropic provider against the emulator', () => {
  let current = Date.UTC(2025, 0, 1);
  const advance = (ms: number) => {
    current += ms;
  };
  const outcomes = new Map<string, MessageBatchOutcome>();
  let emulator: Emulator;
  let provider: BatchProvider;
  let dir: string;
  let input: string;

  const requestFile = async (name: string, count: number, errorAt?: number) => {
    const viewpoints = builtInJobTypes().default;
    const context = {
      model: 'claude-test',
      catalogue: CATALOGUE.map(({ id, name }) => ({ key: String(id), label: name })),
    };
    const texts = ['The battery died.', 'The screen is sharp.', 'Fine.'];
    const lines = Array.from({ length: count }, (_, i) =>
      JSON.stringify(
        viewpoints.requestLine(
          'anthropic',
          { id: i + 1, fields: { text: i === errorAt ? 'FAIL this one' : texts[i % 3]! } },
          context,
        ),
      ),
    );
    const path = join(dir, name);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  };

  const readResults = async (stream: Readable): Promise<ParsedLine[]> => {
    const parsed: ParsedLine[] = [];
    const splitter = new LineSplitter();
    const onLine = ({ line, text }: { line: number; text: string | null }) =>
      parsed.push(
        provider.parseResultLine(text ?? '', {
          file: 'results',
          line,
          jobType: builtInJobTypes().default,
          isCatalogueKey: (key) => key === '1' || key === '2',
        }),
      );
    for await (const chunk of stream) splitter.push(chunk as Buffer, onLine);
    splitter.end(onLine);
    return parsed.filter((line) => line.kind !== 'blank');
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batchline-anthropic-'));
    emulator = await startEmulator({
      apiKey: API_KEY,
      clock: CLOCK,
      now: () => current,
      lineFaults: (_customId, request) =>
        JSON.stringify(request.body).includes('FAIL this one')
          ? { kind: 'error', code: 'invalid_request_error', message: 'prompt is too long' }
          : undefined,
      messageBatchOutcome: () => outcomes.get('next'),
    });
    provider = createAnthropicProvider({ apiKey: API_KEY, baseURL: emulator.anthropicBaseUrl });
    input = await requestFile('small.jsonl', 3, 2);
  });
  afterEach(() => {
    outcomes.clear();
    emulator.clearHttpFaults();
  });
  afterAll(async () => {
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates a batch from inline requests and follows it to its results stream', async () => {
    const created = await provider.uploadAndCreateBatch({ inputPath: input, endpoint: '/v1/messages' });
    expect(created).toMatchObject({
      provider: 'anthropic',
      status: 'in_progress',
      inputFileId: null,
      outputFileId: null,
      requestCounts: { total: 3, completed: 0, failed: 0 },
    });
    expect(provider.limits).toEqual({ maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 });
    expect(provider.hasInputFiles).toBe(false);

    advance(CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs);
    const ended = await provider.getBatch(created.id);
    expect(ended).toMatchObject({
      status: 'ended',
      outputFileId: created.id,
      requestCounts: { total: 3, completed: 2, failed: 1 },
      endedRequestCounts: { canceled: 0, expired: 0 },
    });
    expect(classifyProviderStatus('anthropic', ended.status, ended.endedRequestCounts)).toMatchObject({
      reason: 'completed',
      finalStatus: 2,
    });

    const lines = await readResults(await provider.openFile(ended.outputFileId!));
    const records = lines.map((line) => (line.kind === 'record' ? line.record : null));
    expect(records.map((r) => [r?.customId, r?.outcome, r?.rows.flat(), r?.errorCode]).sort()).toEqual([
      ['rs-1', 'succeeded', [1], null],
      ['rs-2', 'succeeded', [2], null],
      ['rs-3', 'failed', [], 'invalid_request_error'],
    ]);
    expect(records.find((r) => r?.customId === 'rs-1')!.promptTokens).toBeGreaterThan(0);
    const oracle = await emulator.expectedOutcomes(created.id);
    expect(oracle.final).toBe(true);
    expect(oracle.outcomes.map((o) => o.outcome).sort()).toEqual(['failed', 'succeeded', 'succeeded']);
  });

  it('cancels: canceling, then ended with the requests that did not run marked canceled', async () => {
    const created = await provider.uploadAndCreateBatch({
      inputPath: await requestFile('ten.jsonl', 10),
      endpoint: '/v1/messages',
    });
    advance(CLOCK.validatingMs + CLOCK.inProgressMs / 2);
    expect((await provider.cancelBatch(created.id)).status).toBe('canceling');
    advance(CLOCK.finalizingMs);
    const ended = await provider.getBatch(created.id);
    expect(ended.status).toBe('ended');
    expect(ended.endedRequestCounts.canceled).toBe(5);
    expect(classifyProviderStatus('anthropic', ended.status, ended.endedRequestCounts)).toMatchObject({
      reason: 'cancelled',
      finalStatus: 9,
    });
    const lines = await readResults(await provider.openFile(created.id));
    const codes = lines.map((line) => (line.kind === 'record' ? line.record.errorCode : 'invalid'));
    expect(codes.filter((code) => code === 'batch_cancelled')).toHaveLength(5);
    expect(codes.filter((code) => code === null)).toHaveLength(5);
  });

  it('reports an expired batch, and deletes an ended one', async () => {
    outcomes.set('next', { status: 'expired', completedFraction: 0.5 });
    const created = await provider.uploadAndCreateBatch({
      inputPath: await requestFile('expiring.jsonl', 4),
      endpoint: '/v1/messages',
    });
    advance(CLOCK.validatingMs + CLOCK.inProgressMs);
    const ended = await provider.getBatch(created.id);
    expect(ended.endedRequestCounts).toEqual({ canceled: 0, expired: 2 });
    expect(classifyProviderStatus('anthropic', ended.status, ended.endedRequestCounts)).toMatchObject({
      reason: 'expired',
    });
    await provider.deleteFile(created.id);
    await expect(provider.getBatch(created.id)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('lists batches page by page', async () => {
    const page = await provider.listBatches({ limit: 1 });
    expect(page.batches).toHaveLength(1);
    expect(page.hasMore).toBe(true);
    const next = await provider.listBatches({ limit: 1, after: page.lastId! });
    expect(next.batches[0]!.id).not.toBe(page.batches[0]!.id);
  });

  it('classifies rate limits, overload, unknown batches and bad keys once, without retrying', async () => {
    const created = await provider.uploadAndCreateBatch({ inputPath: input, endpoint: '/v1/messages' });
    const path = new RegExp(`/v1/messages/batches/${created.id}$`);
    emulator.injectHttpFault({ method: 'GET', path, status: 429, headers: { 'retry-after': '30' } });
    await expect(provider.getBatch(created.id)).rejects.toMatchObject({
      kind: 'rate_limited',
      status: 429,
      retryAfterMs: 30_000,
      providerCode: 'rate_limit_error',
    });
    const overloaded = emulator.injectHttpFault({ method: 'GET', path, status: 529, times: 5 });
    await expect(provider.getBatch(created.id)).rejects.toMatchObject({ kind: 'unavailable', status: 529 });
    expect(overloaded.hits).toBe(1);
    overloaded.remove();
    await expect(provider.getBatch('msgbatch_unknown')).rejects.toMatchObject({
      kind: 'not_found',
      providerCode: 'not_found_error',
    });
    const wrongKey = createAnthropicProvider({
      apiKey: 'sk-ant-wrong-key-000000',
      baseURL: emulator.anthropicBaseUrl,
    });
    const failure = await wrongKey.getBatch(created.id).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ kind: 'auth', status: 401 });
    expect((failure as Error).message).not.toContain('sk-ant-wrong-key-000000');
  });

  it('honours ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY as the SDK reads them', async () => {
    const saved = { url: process.env.ANTHROPIC_BASE_URL, key: process.env.ANTHROPIC_API_KEY };
    process.env.ANTHROPIC_BASE_URL = emulator.anthropicBaseUrl;
    process.env.ANTHROPIC_API_KEY = API_KEY;
    try {
      const fromEnv = createAnthropicProvider();
      expect((await fromEnv.listBatches({ limit: 1 })).batches).toHaveLength(1);
    } finally {
      if (saved.url === undefined) delete process.env.ANTHROPIC_BASE_URL;
      else process.env.ANTHROPIC_BASE_URL = saved.url;
      if (saved.key === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved.key;
    }
  });

  it('refuses a request file that is not JSONL as the caller’s error', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"custom_id": "rs-1"}\nnot json\n');
    await expect(
      provider.uploadAndCreateBatch({ inputPath: bad, endpoint: '/v1/messages' }),
    ).rejects.toMatchObject({ kind: 'bad_request' });
  });
});
