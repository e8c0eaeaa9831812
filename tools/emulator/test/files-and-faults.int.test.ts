import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../index.ts';
import { writeInputFile } from './fixtures.ts';
import { specErrors } from './spec-validator.ts';

const API_KEY = 'sk-files-and-faults-0123456789';

describe('emulator: files endpoints and injected HTTP faults', () => {
  let emulator: Emulator;
  let client: OpenAI;
  let dir: string;
  let inputPath: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-files-'));
    inputPath = await writeInputFile(dir);
    emulator = await startEmulator({ apiKey: API_KEY });
    client = new OpenAI({ apiKey: API_KEY, baseURL: emulator.baseUrl, maxRetries: 0 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, signal?: AbortSignal) =>
    fetch(`${emulator.baseUrl}${path}`, { headers: { authorization: `Bearer ${API_KEY}` }, signal });
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (err: unknown) => err,
    );

  it('lists, retrieves, downloads and deletes files', async () => {
    const uploaded = await client.files.create({ file: createReadStream(inputPath), purpose: 'batch' });

    const list = (await client.get('/files', { query: { purpose: 'batch' } })) as {
      data: Array<{ id: string }>;
    };
    expect(specErrors('ListFilesResponse', list)).toEqual([]);
    expect(list.data[0]!.id).toBe(uploaded.id);

    expect(await client.files.retrieve(uploaded.id)).toEqual(uploaded);
    const content = await (await client.files.content(uploaded.id)).text();
    expect(Buffer.byteLength(content)).toBe(uploaded.bytes);

    const deleted = await client.files.delete(uploaded.id);
    expect(specErrors('DeleteFileResponse', deleted)).toEqual([]);
    expect(deleted).toEqual({ id: uploaded.id, object: 'file', deleted: true });
    expect(await failureOf(client.files.retrieve(uploaded.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('streams a multi-megabyte file back byte for byte', async () => {
    const path = join(dir, 'large.jsonl');
    const line = JSON.stringify({ custom_id: 'rs-1', method: 'POST', url: '/v1/chat/completions', body: {} });
    const lines = Array.from({ length: 40_000 }, (_, i) => line.replace('rs-1', `rs-${i + 1}`));
    await writeFile(path, `${lines.join('\n')}\n`);
    const uploaded = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    const response = await client.files.content(uploaded.id);
    expect(response.headers.get('content-length')).toBe(String(uploaded.bytes));
    let bytes = 0;
    let chunks = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      chunks += 1;
    }
    expect(bytes).toBe(uploaded.bytes);
    expect(chunks).toBeGreaterThan(1);
  });

  it('rejects bad uploads with 400', async () => {
    const textPath = join(dir, 'notes.txt');
    await writeFile(textPath, 'hello\n');
    const wrongFormat = await failureOf(
      client.files.create({ file: createReadStream(textPath), purpose: 'batch' }),
    );
    expect(wrongFormat).toBeInstanceOf(OpenAI.BadRequestError);
    expect((wrongFormat as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_file_format');

    const badPurpose = await failureOf(
      client.files.create({ file: createReadStream(inputPath), purpose: 'nonsense' as 'batch' }),
    );
    expect(badPurpose).toMatchObject({ status: 400, param: 'purpose' });

    const notMultipart = await fetch(`${emulator.baseUrl}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(notMultipart.status).toBe(400);
  });

  it('serves an injected 429 with Retry-After for the given number of requests, then recovers', async () => {
    const fault = emulator.injectHttpFault({
      method: 'GET',
      path: /^\/v1\/batches$/,
      status: 429,
      headers: { 'retry-after': '7' },
      times: 2,
    });
    for (let i = 0; i < 2; i += 1) {
      const error = await failureOf(client.batches.list());
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe('7');
    }
    await expect(client.batches.list()).resolves.toBeDefined();
    expect(fault.hits).toBe(2);
    const log = emulator.requests.filter((r) => r.path === '/v1/batches').slice(-3);
    expect(log.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('serves a custom fault body as given', async () => {
    emulator.injectHttpFault({
      path: /^\/v1\/batches\/batch_x$/,
      status: 429,
      body: {
        error: {
          message: 'You exceeded your current quota',
          type: 'insufficient_quota',
          param: null,
          code: 'insufficient_quota',
        },
      },
    });
    const error = await failureOf(client.batches.retrieve('batch_x'));
    expect(error).toMatchObject({ status: 429, code: 'insufficient_quota' });
  });

  it('cuts a download midway: the client reads fewer bytes than Content-Length and fails', async () => {
    const uploaded = await client.files.create({ file: createReadStream(inputPath), purpose: 'batch' });
    emulator.injectHttpFault({ path: /\/content$/, truncateAfterBytes: 100 });
    const response = await get(`/files/${uploaded.id}/content`);
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBe(uploaded.bytes);
    await expect(response.text()).rejects.toThrow();
    expect(emulator.requests.at(-1)).toMatchObject({ status: 200, completed: false });
  });

  it('stalls a download after some bytes: the reader gets them, then nothing until it gives up', async () => {
    const uploaded = await client.files.create({ file: createReadStream(inputPath), purpose: 'batch' });
    emulator.injectHttpFault({ path: /\/content$/, stallAfterBytes: 50 });
    const controller = new AbortController();
    const response = await get(`/files/${uploaded.id}/content`, controller.signal);
    const reader = response.body!.getReader();
    let received = 0;
    while (received < 50) {
      const { value } = await reader.read();
      received += value!.length;
    }
    expect(received).toBe(50);
    const next = reader.read();
    controller.abort();
    await expect(next).rejects.toThrow();
  });

  it('hangs a response until the client gives up', async () => {
    emulator.injectHttpFault({ path: /^\/v1\/batches$/, delayMs: Number.POSITIVE_INFINITY });
    const error = await failureOf(get('/batches', AbortSignal.timeout(200)));
    expect((error as Error).name).toBe('TimeoutError');
    await expect(client.batches.list()).resolves.toBeDefined();
  });

  it('closes promptly while a response hangs', async () => {
    const other = await startEmulator();
    const hang = other.injectHttpFault({ path: /.*/, delayMs: Number.POSITIVE_INFINITY });
    const pending = failureOf(fetch(`${other.baseUrl}/batches`, { headers: { authorization: 'Bearer k' } }));
    // The fault counts the request when it arrives: from then on the response hangs.
    while (hang.hits === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await other.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
