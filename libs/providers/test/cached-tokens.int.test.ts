import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineSplitter, type ResultRecord } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchProvider, createAnthropicProvider, createOpenAIProvider } from '../index.ts';

const API_KEY = 'sk-cached-tokens-test-0123456789';
const CLOCK = { validatingMs: 1_000, inProgressMs: 1_000, finalizingMs: 1_000 };
const CATALOGUE = [
  { key: '1', label: 'Battery life' },
  { key: '2', label: 'Screen quality' },
];

/**
 * Cached input tokens as the providers report them (the emulator answering with half of each prompt cached):
 * OpenAI inside `prompt_tokens` (`prompt_tokens_details.cached_tokens`), Anthropic apart from `input_tokens`
 * (`cache_read_input_tokens`). Each record carries the whole prompt and its cached part.
 */
describe('cached input tokens read from the providers’ result lines', () => {
  let current = Date.UTC(2026, 0, 1);
  let emulator: Emulator;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'batchline-cached-'));
    emulator = await startEmulator({
      apiKey: API_KEY,
      clock: CLOCK,
      now: () => current,
      cachedPromptShare: 0.5,
    });
  });
  afterAll(async () => {
    await emulator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const landedRecords = async (provider: BatchProvider, providerName: 'openai' | 'anthropic') => {
    const viewpoints = builtInJobTypes().default;
    const lines = ['The battery died after an hour of use.', 'The screen is sharp and bright.'].map(
      (text, i) =>
        JSON.stringify(
          viewpoints.requestLine(
            providerName,
            { id: i + 1, fields: { text } },
            { model: 'm', catalogue: CATALOGUE },
          ),
        ),
    );
    const input = join(dir, `${providerName}.jsonl`);
    await writeFile(input, `${lines.join('\n')}\n`);
    const created = await provider.uploadAndCreateBatch({
      inputPath: input,
      endpoint: providerName === 'openai' ? '/v1/chat/completions' : '/v1/messages',
    });
    current += CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs + 1;
    const ended = await provider.getBatch(created.id);
    const records: ResultRecord[] = [];
    const splitter = new LineSplitter();
    const onLine = ({ line, text }: { line: number; text: string | null }) => {
      const parsed = provider.parseResultLine(text ?? '', {
        file: 'output',
        line,
        jobType: viewpoints,
        isCatalogueKey: (key) => key === '1' || key === '2',
      });
      if (parsed.kind === 'record') records.push(parsed.record);
    };
    for await (const chunk of await provider.openFile(ended.outputFileId!))
      splitter.push(chunk as Buffer, onLine);
    splitter.end(onLine);
    return records;
  };

  it('OpenAI: the cached part of prompt_tokens', async () => {
    const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: emulator.baseUrl });
    const records = await landedRecords(provider, 'openai');
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record.promptTokens).toBeGreaterThan(1);
      expect(record.cachedPromptTokens).toBe(Math.floor(record.promptTokens! * 0.5));
    }
  });

  it('Anthropic: cache reads added to input_tokens for the whole prompt, and kept as its cached part', async () => {
    const provider = createAnthropicProvider({ apiKey: API_KEY, baseURL: emulator.anthropicBaseUrl });
    const records = await landedRecords(provider, 'anthropic');
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record.promptTokens).toBeGreaterThan(1);
      expect(record.cachedPromptTokens).toBe(Math.floor(record.promptTokens! * 0.5));
    }
  });
});
