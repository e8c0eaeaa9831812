import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobTypeSet } from '@batchline/job-types';
import { Ajv2020 } from 'ajv/dist/2020.js';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AnswerSharesOption,
  type BatchRequestLine,
  type Emulator,
  type ExpectedOutcome,
  expectedRequestOutcome,
  startEmulator,
} from '../index.ts';
import { CATALOGUE, manualClock, SENTENCES } from './fixtures.ts';
import {
  loadTestJobTypes,
  requestLines,
  reviews,
  SENTIMENT_DECLARATION,
  SENTIMENT_LABELS,
  writeLines,
} from './job-type-fixtures.ts';

const CLOCK = { validatingMs: 1_000, inProgressMs: 10_000, finalizingMs: 1_000 };
const WHOLE_RUN = CLOCK.validatingMs + CLOCK.inProgressMs + CLOCK.finalizingMs;
const SHARES: AnswerSharesOption = {
  byJobType: {
    review_sentiment: { invalid: 0.2, unknownReference: 0.2 },
    review_embeddings: { invalid: 0.25 },
  },
};
const LABEL_KEYS = new Set(SENTIMENT_LABELS.map((label) => label.key));
const isLabel = (key: string) => LABEL_KEYS.has(key);

/** A 200 output line's body: a chat completion or an embeddings list, read as the test needs either. */
interface ResultBody {
  [field: string]: unknown;
  choices: Array<{ message: { content: string } }>;
  data: Array<{ object: string; index: number; embedding: number[] }>;
  usage: Record<string, number>;
}
type ResultLine = { custom_id: string; response: { status_code: number; body: ResultBody } };

describe('emulator: declared job types over the OpenAI Batch API', () => {
  const time = manualClock();
  let dir: string;
  let jobTypes: JobTypeSet;
  let emulator: Emulator;
  let client: OpenAI;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-job-types-'));
    jobTypes = await loadTestJobTypes(dir);
    emulator = await startEmulator({ clock: CLOCK, now: time.now, jobTypes, answerShares: SHARES });
    client = new OpenAI({ apiKey: 'sk-any', baseURL: emulator.baseUrl, maxRetries: 0 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a batch of `lines` on `on` to the end and returns the batch id and its output lines by custom id. */
  async function runBatch(
    lines: readonly object[],
    endpoint: '/v1/chat/completions' | '/v1/embeddings',
    on = client,
  ) {
    const path = await writeLines(dir, `input-${Math.random()}.jsonl`, lines);
    const file = await on.files.create({ file: createReadStream(path), purpose: 'batch' });
    const created = await on.batches.create({ input_file_id: file.id, endpoint, completion_window: '24h' });
    time.advance(WHOLE_RUN);
    const batch = await on.batches.retrieve(created.id);
    expect(batch.status).toBe('completed');
    expect(batch.error_file_id).toBeNull();
    const text = await (await on.files.content(batch.output_file_id!)).text();
    const served = new Map<string, ResultLine>();
    for (const line of text.trim().split('\n')) {
      const parsed = JSON.parse(line) as ResultLine;
      served.set(parsed.custom_id, parsed);
    }
    return { batchId: batch.id, served };
  }

  it('answers a chat job type with its schema and catalogue, spoils the configured shares, and the oracle knows which', async () => {
    const jobType = jobTypes.named('review_sentiment');
    const lines = requestLines(
      jobType,
      'openai',
      reviews(80),
      SENTIMENT_LABELS,
    ) as unknown as BatchRequestLine[];
    const { batchId, served } = await runBatch(lines, '/v1/chat/completions');
    const oracle = await emulator.expectedOutcomes(batchId);
    expect(oracle.outcomes).toHaveLength(80);
    const validate = new Ajv2020({ strict: false }).compile(SENTIMENT_DECLARATION.request.responseSchema);

    const codes = new Map<string, number>();
    for (const [index, expected] of oracle.outcomes.entries()) {
      const content = served.get(expected.customId)!.response.body.choices[0]!.message.content as string;
      // The pure oracle, from the request line alone, says what the batch's oracle says.
      expect(expectedRequestOutcome(lines[index]!, { jobTypes, answerShares: SHARES })).toEqual(expected);
      // The job type's own check of the served content agrees with the oracle.
      const check = jobType.checkAnswer(content, isLabel);
      expect(check.ok ? 'succeeded' : check.code).toBe(codeOf(expected));
      if (check.ok && expected.outcome === 'succeeded') expect(check.rows).toEqual(expected.rows);
      codes.set(codeOf(expected), (codes.get(codeOf(expected)) ?? 0) + 1);

      // And, independently of batchline's checker: what each kind of answer is.
      let answer: { label?: string; score?: number } | undefined;
      try {
        answer = JSON.parse(content);
      } catch {
        answer = undefined;
      }
      if (codeOf(expected) === 'invalid_content') {
        expect(answer === undefined || !validate(answer), content).toBe(true);
        continue;
      }
      expect(validate(answer), content).toBe(true);
      expect(isLabel(answer!.label!)).toBe(codeOf(expected) === 'succeeded');
    }
    expect(codes.get('unknown_label')).toBeGreaterThanOrEqual(6);
    expect(codes.get('invalid_content')).toBeGreaterThanOrEqual(6);
    expect(codes.get('succeeded')).toBeGreaterThanOrEqual(30);
  });

  it('draws catalogue references from the labels the review names', async () => {
    const jobType = jobTypes.named('review_sentiment');
    const inputs = [
      { id: 1001, text: 'I praise this phone.' },
      { id: 1002, text: 'A complaint, then disappointment.' },
    ];
    const lines = requestLines(jobType, 'openai', inputs, SENTIMENT_LABELS) as unknown as BatchRequestLine[];
    const calm = { jobTypes }; // no spoiled answers
    const rows = lines.map((line) => expectedRequestOutcome(line, calm));
    expect(rows.map((o) => (o.outcome === 'succeeded' ? o.rows[0]![0] : o.errorCode))).toEqual([
      'positive',
      'negative',
    ]);
    expect(rows.map((o) => o.outcome === 'succeeded' && o.requestId)).toEqual([1001, 1002]);
  });

  it('answers the same custom ids the same way, run after run', async () => {
    const jobType = jobTypes.named('review_sentiment');
    const lines = requestLines(jobType, 'openai', reviews(30), SENTIMENT_LABELS);
    const contents = (served: Map<string, ResultLine>) =>
      new Map([...served].map(([id, line]) => [id, line.response.body.choices[0]!.message.content]));
    const first = contents((await runBatch(lines, '/v1/chat/completions')).served);
    expect(contents((await runBatch(lines, '/v1/chat/completions')).served)).toEqual(first);

    const again = await startEmulator({ clock: CLOCK, now: time.now, jobTypes, answerShares: SHARES });
    try {
      const otherClient = new OpenAI({ apiKey: 'sk-any', baseURL: again.baseUrl, maxRetries: 0 });
      expect(contents((await runBatch(lines, '/v1/chat/completions', otherClient)).served)).toEqual(first);
    } finally {
      await again.close();
    }
  });

  it('answers an embeddings job type in OpenAI’s exact format, with the declared dimensions', async () => {
    const jobType = jobTypes.named('review_embeddings');
    const inputs = reviews(40).map((r) => ({ id: `doc_${r.id}`, text: r.text }));
    const lines = requestLines(jobType, 'openai', inputs) as unknown as BatchRequestLine[];
    const { batchId, served } = await runBatch(lines, '/v1/embeddings');
    const oracle = await emulator.expectedOutcomes(batchId);
    let spoiled = 0;
    for (const [index, expected] of oracle.outcomes.entries()) {
      const { body } = served.get(expected.customId)!.response;
      expect(Object.keys(body).sort()).toEqual(['data', 'model', 'object', 'usage']);
      expect(body).toMatchObject({ object: 'list', model: 'text-embedding-3-small' });
      expect(Object.keys(body.usage).sort()).toEqual(['prompt_tokens', 'total_tokens']);
      expect(expectedRequestOutcome(lines[index]!, { jobTypes, answerShares: SHARES })).toEqual(expected);
      const check = jobType.checkEmbedding(body);
      expect(check.ok ? 'succeeded' : check.code).toBe(codeOf(expected));
      if (expected.outcome !== 'succeeded') {
        spoiled += 1;
        continue;
      }
      expect(body.data).toHaveLength(1);
      expect(Object.keys(body.data[0]!).sort()).toEqual(['embedding', 'index', 'object']);
      expect(body.data[0]).toMatchObject({ object: 'embedding', index: 0 });
      expect(body.data[0]!.embedding).toHaveLength(4);
      expect(expected.requestId).toBe(inputs[index]!.id);
      expect(expected.rows).toEqual([[body.data[0]!.embedding]]);
    }
    expect(spoiled).toBeGreaterThanOrEqual(4);
    expect(spoiled).toBeLessThanOrEqual(20);
  });

  it('serves POST /v1/embeddings with the same vectors, as floats or base64', async () => {
    const line = requestLines(jobTypes.named('review_embeddings'), 'openai', [
      { id: 'doc_1', text: 'I praise this phone' },
    ])[0] as unknown as BatchRequestLine;
    const expected = expectedRequestOutcome(line, { jobTypes });
    expect(expected.outcome).toBe('succeeded');
    const vector = (expected as Extract<ExpectedOutcome, { outcome: 'succeeded' }>).rows[0]![0] as number[];

    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: 'I praise this phone',
      dimensions: 4,
      encoding_format: 'float',
    });
    expect(floats.data[0]!.embedding).toEqual(vector);
    // The SDK asks for base64 by default and decodes float32s.
    const decoded = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['I praise this phone', 'other'],
      dimensions: 4,
    });
    expect(decoded.data[0]!.embedding).toEqual(vector.map(Math.fround));
    expect(decoded.data.map((d) => d.index)).toEqual([0, 1]);
    const full = await client.embeddings.create({ model: 'text-embedding-3-large', input: 'x' });
    expect(full.data[0]!.embedding).toHaveLength(3072);
    await expect(client.embeddings.create({ model: 'm', input: 'x', dimensions: 0 })).rejects.toThrow(
      /dimensions/,
    );
  });

  it('answers specific_viewpoint requests built from its declaration exactly as the viewpoint classifier', async () => {
    const viewpoints = CATALOGUE.map((v) => ({ key: String(v.id), label: v.name }));
    const lines = requestLines(jobTypes.default, 'openai', SENTENCES, viewpoints);
    const { batchId, served } = await runBatch(lines, '/v1/chat/completions');
    const oracle = await emulator.expectedOutcomes(batchId);
    for (const [index, sentence] of SENTENCES.entries()) {
      const customId = `rs-${sentence.id}`;
      expect(JSON.parse(served.get(customId)!.response.body.choices[0]!.message.content)).toEqual({
        viewpoint_ids: sentence.expected,
      });
      expect(oracle.outcomes[index]).toMatchObject({
        customId,
        outcome: 'succeeded',
        viewpointIds: sentence.expected,
      });
    }
  });
});

const codeOf = (outcome: ExpectedOutcome): string =>
  outcome.outcome === 'succeeded' ? 'succeeded' : outcome.errorCode;
