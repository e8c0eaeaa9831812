import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_COMPLETIONS_URL } from '@batchline/domain';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator, transientFailures } from '../index.ts';
import { manualClock, writeInputFile } from './fixtures.ts';

const API_KEY = 'sk-transient-failures-0123456789';
const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };
const SENTENCES = Array.from({ length: 40 }, (_, i) => ({ id: i + 1, text: `Battery life number ${i + 1}` }));

describe('transientFailures', () => {
  const faults = transientFailures({ share: 0.5, failedAttempts: 2 });
  const request = {} as never;
  const ids = Array.from({ length: 1000 }, (_, i) => `rs-${i + 1}`);

  it('fails about the share asked for, the same requests on every attempt up to failedAttempts, then none', () => {
    const first = ids.filter((id) => faults(id, request, 1) !== undefined);
    expect(first.length).toBeGreaterThan(400);
    expect(first.length).toBeLessThan(600);
    expect(ids.filter((id) => faults(id, request, 2) !== undefined)).toEqual(first);
    expect(ids.filter((id) => faults(id, request, 3) !== undefined)).toEqual([]);
  });

  it('answers with 429 and 500, deterministically by custom id', () => {
    const statuses = new Set(
      ids.map((id) => faults(id, request, 1)).flatMap((f) => (f?.kind === 'http' ? [f.status] : [])),
    );
    expect([...statuses].sort()).toEqual([429, 500]);
    expect(ids.map((id) => faults(id, request, 1))).toEqual(ids.map((id) => faults(id, request, 1)));
  });
});

describe('emulator: requests that fail on their first attempt succeed in a retry batch', () => {
  const time = manualClock();
  let emulator: Emulator;
  let client: OpenAI;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-transient-'));
    emulator = await startEmulator({
      apiKey: API_KEY,
      clock: CLOCK,
      now: time.now,
      lineFaults: transientFailures({ share: 0.3, failedAttempts: 1 }),
    });
    client = new OpenAI({ apiKey: API_KEY, baseURL: emulator.baseUrl, maxRetries: 0 });
  });
  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a batch of `sentences` to its end and returns the custom ids of its output and error lines. */
  async function run(sentences: typeof SENTENCES, name: string) {
    const path = await writeInputFile(dir, sentences, name);
    const file = await client.files.create({ file: createReadStream(path), purpose: 'batch' });
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: CHAT_COMPLETIONS_URL,
      completion_window: '24h',
    });
    time.advance(CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs);
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    const lines = async (id: string | null | undefined) =>
      id
        ? (await (await client.files.content(id)).text())
            .split('\n')
            .filter((l) => l.length > 0)
            .map((l) => JSON.parse(l))
        : [];
    return { output: await lines(done.output_file_id), errors: await lines(done.error_file_id) };
  }

  it('fails a share with 429/500 the first time, and answers every one of them in the retry', async () => {
    const first = await run(SENTENCES, 'first.jsonl');
    const failed = first.errors.map((line: { custom_id: string }) => line.custom_id);
    expect(failed.length).toBeGreaterThan(0);
    expect(
      new Set(first.errors.map((line: { response: { status_code: number } }) => line.response.status_code)),
    ).toEqual(new Set([429, 500]));
    const retry = await run(
      SENTENCES.filter((s) => failed.includes(`rs-${s.id}`)),
      'retry.jsonl',
    );
    expect(retry.errors).toEqual([]);
    expect(retry.output.map((line: { custom_id: string }) => line.custom_id).sort()).toEqual(
      [...failed].sort(),
    );
  });
});
