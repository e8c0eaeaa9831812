import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_COMPLETIONS_URL } from '@batchline/domain';
import { PromptTokenCounter } from '@batchline/job-types';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, parseEnqueuedTokenLimit, startEmulator } from '../index.ts';
import { manualClock, writeInputFile } from './fixtures.ts';

const API_KEY = 'sk-emulator-token-limit-0123456789';
const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };

describe('emulator: the enqueued-token limit per model', () => {
  const time = manualClock();
  let emulator: Emulator;
  let client: OpenAI;
  let dir: string;
  let inputPath: string;
  let fileTokens: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-token-limit-'));
    inputPath = await writeInputFile(dir);
    const lines = (await readFile(inputPath, 'utf8')).split('\n').filter((line) => line !== '');
    fileTokens = lines.reduce((sum, line) => sum + new PromptTokenCounter().count(JSON.parse(line).body), 0);
    // Room for one file's batch, not two.
    emulator = await startEmulator({
      apiKey: API_KEY,
      clock: CLOCK,
      now: time.now,
      enqueuedTokenLimit: { 'gpt-4o-mini': Math.floor(fileTokens * 1.5) },
    });
    client = new OpenAI({ apiKey: API_KEY, baseURL: emulator.baseUrl, maxRetries: 0 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const createBatch = async () => {
    const file = await client.files.create({ file: createReadStream(inputPath), purpose: 'batch' });
    return client.batches.create({
      input_file_id: file.id,
      endpoint: CHAT_COMPLETIONS_URL,
      completion_window: '24h',
    });
  };

  it('runs a batch under the limit, fails one over it at validation, and accepts it again once room is back', async () => {
    expect(fileTokens).toBeGreaterThan(50);
    const first = await createBatch();
    const second = await createBatch();
    // The create call succeeds; the batch fails after validating, as OpenAI's do.
    expect(second.status).toBe('validating');
    time.advance(CLOCK.validatingMs);
    expect((await client.batches.retrieve(first.id)).status).toBe('in_progress');
    const refused = await client.batches.retrieve(second.id);
    expect(refused.status).toBe('failed');
    expect(refused.errors?.data).toEqual([
      {
        code: 'token_limit_exceeded',
        message: `Enqueued token limit reached for gpt-4o-mini in organization org-batchline-emulator. Limit: ${Math.floor(fileTokens * 1.5)} enqueued tokens. Please try again once some in_progress batches have been completed.`,
        param: null,
        line: null,
      },
    ]);
    // A failed batch holds no tokens: while the first still runs, the same file is refused again.
    const again = await createBatch();
    time.advance(CLOCK.validatingMs);
    expect((await client.batches.retrieve(again.id)).status).toBe('failed');

    time.advance(CLOCK.inProgressMs + CLOCK.finalizingMs);
    expect((await client.batches.retrieve(first.id)).status).toBe('completed');
    const accepted = await createBatch();
    time.advance(CLOCK.validatingMs);
    const running = await client.batches.retrieve(accepted.id);
    expect(running.status).toBe('in_progress');
    expect(running.errors).toBeNull();
  });

  it('reads the command line form: one limit for every model, or model=limit pairs', () => {
    expect(parseEnqueuedTokenLimit('2000000')).toBe(2_000_000);
    expect(parseEnqueuedTokenLimit('gpt-4o-mini=90000, gpt-4o=30000')).toEqual({
      'gpt-4o-mini': 90_000,
      'gpt-4o': 30_000,
    });
    expect(() => parseEnqueuedTokenLimit('lots')).toThrow('is not a limit');
    expect(() => parseEnqueuedTokenLimit('0')).toThrow('is not a limit');
    expect(() => parseEnqueuedTokenLimit('5,gpt-4o=3')).toThrow('stands alone');
  });
});
