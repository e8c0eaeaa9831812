import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_COMPLETIONS_URL, parseOpenAIResultLine, type ResultRecord } from '@batchline/domain';
import { builtInJobTypes } from '@batchline/job-types';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../index.ts';
import { CATALOGUE, manualClock, SENTENCES, writeInputFile } from './fixtures.ts';
import { BATCH_STATUSES, specErrors } from './spec-validator.ts';

const API_KEY = 'sk-emulator-conformance-0123456789';
const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };

describe('emulator: batches through the openai SDK', () => {
  const time = manualClock();
  let emulator: Emulator;
  let client: OpenAI;
  let dir: string;
  let inputPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-batches-'));
    inputPath = await writeInputFile(dir);
    emulator = await startEmulator({ apiKey: API_KEY, clock: CLOCK, now: time.now });
    client = new OpenAI({ apiKey: API_KEY, baseURL: emulator.baseUrl, maxRetries: 0 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const upload = () => client.files.create({ file: createReadStream(inputPath), purpose: 'batch' });
  const createBatch = async (metadata?: Record<string, string>) => {
    const file = await upload();
    return client.batches.create({
      input_file_id: file.id,
      endpoint: CHAT_COMPLETIONS_URL,
      completion_window: '24h',
      metadata,
    });
  };
  // The raw list body, to check the fields the SDK's page object hides.
  const listPage = (query: { limit: number; after?: string }) =>
    client.get('/batches', { query }) as Promise<{ data: OpenAI.Batch[]; first_id: string; last_id: string }>;
  const readLines = async (fileId: string): Promise<string[]> => {
    const text = await (await client.files.content(fileId)).text();
    return text.split('\n').filter((line) => line.length > 0);
  };
  const parse = (line: string, file: 'output' | 'error', lineNo: number): ResultRecord => {
    const parsed = parseOpenAIResultLine(line, {
      file,
      line: lineNo,
      jobType: builtInJobTypes().default,
      isCatalogueKey: (key) => CATALOGUE.some((v) => String(v.id) === key),
    });
    if (parsed.kind !== 'record')
      throw new Error(`line ${lineNo} of the ${file} file is not a record: ${line}`);
    return parsed.record;
  };

  it('uploads a batch input file and describes it like the spec', async () => {
    const file = await upload();
    expect(specErrors('OpenAIFile', file)).toEqual([]);
    expect(file).toMatchObject({
      object: 'file',
      purpose: 'batch',
      filename: 'input.jsonl',
      status: 'processed',
    });
    expect(file.id).toMatch(/^file-/);
  });

  it('walks validating → in_progress → finalizing → completed, every object valid against the spec', async () => {
    const created = await createBatch({ job: 'lifecycle' });
    expect(specErrors('Batch', created)).toEqual([]);
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: CHAT_COMPLETIONS_URL,
      completion_window: '24h',
      metadata: { job: 'lifecycle' },
      request_counts: { total: 0, completed: 0, failed: 0 },
      output_file_id: null,
      error_file_id: null,
    });
    expect(created.expires_at).toBe(created.created_at + 24 * 3600);

    const seen = [created];
    for (const step of [
      CLOCK.validatingMs,
      CLOCK.inProgressMs / 2,
      CLOCK.inProgressMs / 2,
      CLOCK.finalizingMs,
    ]) {
      time.advance(step);
      const batch = await client.batches.retrieve(created.id);
      expect(specErrors('Batch', batch)).toEqual([]);
      expect(BATCH_STATUSES).toContain(batch.status);
      seen.push(batch);
    }
    expect(seen.map((b) => b.status)).toEqual([
      'validating',
      'in_progress',
      'in_progress',
      'finalizing',
      'completed',
    ]);

    const midway = seen[2]!;
    expect(midway.request_counts!.total).toBe(SENTENCES.length);
    expect(midway.request_counts!.completed).toBe(SENTENCES.length / 2);
    expect(midway.in_progress_at).toBe(created.created_at + 1);

    const done = seen[4]!;
    expect(done.request_counts).toEqual({ total: SENTENCES.length, completed: SENTENCES.length, failed: 0 });
    expect(done.finalizing_at).not.toBeNull();
    expect(done.completed_at).not.toBeNull();
    expect(done.output_file_id).toMatch(/^file-/);
    expect(done.error_file_id).toBeNull();
    expect(done.model).toBe('gpt-4o-mini');
    expect(done.usage!.input_tokens).toBeGreaterThan(0);
    expect(done.usage!.total_tokens).toBe(done.usage!.input_tokens + done.usage!.output_tokens);

    const outputFile = await client.files.retrieve(done.output_file_id!);
    expect(specErrors('OpenAIFile', outputFile)).toEqual([]);
    expect(outputFile.purpose).toBe('batch_output');

    const lines = await readLines(done.output_file_id!);
    expect(lines).toHaveLength(SENTENCES.length);
    const answers = new Map(lines.map((line, i) => parse(line, 'output', i + 1)).map((r) => [r.customId, r]));
    for (const sentence of SENTENCES) {
      const record = answers.get(`rs-${sentence.id}`)!;
      expect(record.outcome).toBe('succeeded');
      expect(record.rows.map(([id]) => id).sort()).toEqual(sentence.expected);
    }
  });

  it('writes output lines in OpenAI’s exact format with a full chat.completion body', async () => {
    const created = await createBatch();
    time.advance(CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs);
    const done = await client.batches.retrieve(created.id);
    const [first] = await readLines(done.output_file_id!);
    const line = JSON.parse(first!);
    expect(Object.keys(line).sort()).toEqual(['custom_id', 'error', 'id', 'response']);
    expect(line.id).toMatch(/^batch_req_/);
    expect(line.error).toBeNull();
    expect(line.response.status_code).toBe(200);
    expect(line.response.request_id).toMatch(/^req_/);
    const body = line.response.body;
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-4o-mini' });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(typeof body.created).toBe('number');
    expect(body.choices[0].message.role).toBe('assistant');
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(JSON.parse(body.choices[0].message.content)).toHaveProperty('viewpoint_ids');
    const { prompt_tokens, completion_tokens, total_tokens } = body.usage;
    expect(prompt_tokens).toBeGreaterThan(0);
    expect(completion_tokens).toBeGreaterThan(0);
    expect(total_tokens).toBe(prompt_tokens + completion_tokens);
  });

  it('lists batches newest first with cursor pagination', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await createBatch({ page: String(i) })).id);
    const newestFirst = [...ids].reverse();

    const first = await listPage({ limit: 2 });
    expect(specErrors('ListBatchesResponse', first)).toEqual([]);
    expect(first.data.map((b) => b.id)).toEqual(newestFirst.slice(0, 2));
    expect(first).toMatchObject({ object: 'list', has_more: true, first_id: ids[4], last_id: ids[3] });

    const second = await listPage({ limit: 2, after: ids[3] });
    expect(second.data.map((b) => b.id)).toEqual(newestFirst.slice(2, 4));

    const all: string[] = [];
    for await (const batch of client.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all.slice(0, 5)).toEqual(newestFirst);
    expect(new Set(all).size).toBe(all.length);

    const last = await listPage({ limit: 100, after: all.at(-2) });
    expect(last).toMatchObject({ has_more: false, first_id: all.at(-1), last_id: all.at(-1) });

    // An unknown cursor ends the listing instead of starting it over.
    expect(await listPage({ limit: 2, after: 'batch_unknown' })).toMatchObject({ data: [], has_more: false });
  });

  it('cancels: cancelling, then cancelled with the run requests in the output and the rest batch_cancelled', async () => {
    const created = await createBatch();
    time.advance(CLOCK.validatingMs + CLOCK.inProgressMs / 2);
    const cancelling = await client.batches.cancel(created.id);
    expect(specErrors('Batch', cancelling)).toEqual([]);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).not.toBeNull();
    expect((await client.batches.cancel(created.id)).status).toBe('cancelling');

    time.advance(CLOCK.finalizingMs);
    const cancelled = await client.batches.retrieve(created.id);
    expect(specErrors('Batch', cancelled)).toEqual([]);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cancelled_at).not.toBeNull();
    const half = SENTENCES.length / 2;
    expect(cancelled.request_counts).toEqual({ total: SENTENCES.length, completed: half, failed: half });

    const output = (await readLines(cancelled.output_file_id!)).map((l, i) => parse(l, 'output', i + 1));
    const errors = (await readLines(cancelled.error_file_id!)).map((l, i) => parse(l, 'error', i + 1));
    expect(output.every((r) => r.outcome === 'succeeded')).toBe(true);
    expect(errors.map((r) => r.errorCode)).toEqual(Array(half).fill('batch_cancelled'));
    const served = [...output, ...errors].map((r) => r.customId).sort();
    expect(served).toEqual(SENTENCES.map((s) => `rs-${s.id}`).sort());

    await expect(client.batches.cancel(created.id)).rejects.toMatchObject({ status: 400 });
  });

  it('answers 404 with OpenAI’s error shape for unknown batch and file ids', async () => {
    for (const call of [
      () => client.batches.retrieve('batch_unknown'),
      () => client.batches.cancel('batch_unknown'),
      () => client.files.retrieve('file-unknown'),
      () => client.files.content('file-unknown'),
      () => client.files.delete('file-unknown'),
    ]) {
      const error = await call().then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const body = (error as InstanceType<typeof OpenAI.NotFoundError>).error as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['code', 'message', 'param', 'type']);
      expect(body.type).toBe('invalid_request_error');
    }
  });

  it('rejects a bad create request with 400 and the offending param', async () => {
    const file = await upload();
    const attempts: Array<[Record<string, unknown>, string]> = [
      [
        { input_file_id: file.id, endpoint: CHAT_COMPLETIONS_URL, completion_window: '48h' },
        'completion_window',
      ],
      [{ input_file_id: file.id, completion_window: '24h' }, 'endpoint'],
      [
        { input_file_id: file.id, endpoint: CHAT_COMPLETIONS_URL, completion_window: '24h', colour: 1 },
        'colour',
      ],
      [
        {
          input_file_id: file.id,
          endpoint: CHAT_COMPLETIONS_URL,
          completion_window: '24h',
          metadata: { a: 1 },
        },
        'metadata',
      ],
    ];
    for (const [body, param] of attempts) {
      const error = await client.post('/batches', { body }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(param);
    }
  });

  it('answers 401 without a key and with a wrong key, never echoing the key', async () => {
    const noKey = await fetch(`${emulator.baseUrl}/batches`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const wrongKey = 'sk-wrong-key-0123456789abcdef';
    const wrong = new OpenAI({ apiKey: wrongKey, baseURL: emulator.baseUrl, maxRetries: 0 });
    const error = await wrong.batches.list().then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    const apiError = error as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(apiError.code).toBe('invalid_api_key');
    expect(apiError.message).not.toContain(wrongKey);
  });
});
