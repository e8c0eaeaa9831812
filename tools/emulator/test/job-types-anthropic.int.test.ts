import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import type { JobTypeSet } from '@batchline/job-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AnswerSharesOption,
  type Emulator,
  expectedRequestOutcome,
  type MessageBatchRequest,
  startEmulator,
} from '../index.ts';
import { manualClock } from './fixtures.ts';
import { loadTestJobTypes, requestLines, reviews, SENTIMENT_LABELS } from './job-type-fixtures.ts';

const CLOCK = { validatingMs: 10, inProgressMs: 100, finalizingMs: 10 };
/** Overall shares, which a job type's own override (none for the viewpoints here) wins over. */
const SHARES: AnswerSharesOption = {
  invalid: 0.2,
  unknownReference: 0.2,
  byJobType: { specific_viewpoint: { invalid: 0, unknownReference: 0 } },
};
const LABEL_KEYS = new Set(SENTIMENT_LABELS.map((label) => label.key));

describe('emulator: declared chat job types over Anthropic Message Batches', () => {
  const time = manualClock();
  let dir: string;
  let jobTypes: JobTypeSet;
  let emulator: Emulator;
  let client: Anthropic;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-job-types-anthropic-'));
    jobTypes = await loadTestJobTypes(dir);
    emulator = await startEmulator({ clock: CLOCK, now: time.now, jobTypes, answerShares: SHARES });
    client = new Anthropic({ apiKey: 'sk-ant-any', baseURL: emulator.anthropicBaseUrl, maxRetries: 0 });
  });

  afterAll(async () => {
    await emulator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers through the forced `answer` tool, as the oracle expects', async () => {
    const jobType = jobTypes.named('review_sentiment');
    const requests = requestLines(
      jobType,
      'anthropic',
      reviews(60),
      SENTIMENT_LABELS,
    ) as unknown as MessageBatchRequest[];
    expect(requests[0]!.params.tools).toEqual([expect.objectContaining({ name: 'answer' })]);
    const created = await client.messages.batches.create({
      requests: requests as unknown as Anthropic.Messages.Batches.BatchCreateParams['requests'],
    });
    time.advance(1_000);
    expect((await client.messages.batches.retrieve(created.id)).processing_status).toBe('ended');
    const oracle = await emulator.expectedOutcomes(created.id);
    const byCustomId = new Map(oracle.outcomes.map((outcome) => [outcome.customId, outcome]));

    const kinds = new Map<string, number>();
    for await (const line of await client.messages.batches.results(created.id)) {
      expect(line.result.type).toBe('succeeded');
      if (line.result.type !== 'succeeded') continue;
      const expected = byCustomId.get(line.custom_id)!;
      const request = requests.find((r) => r.custom_id === line.custom_id)!;
      expect(expectedRequestOutcome(request, { jobTypes, answerShares: SHARES })).toEqual(expected);
      const block = line.result.message.content[0]!;
      // A JSON object answer is the tool's input; prose (an invalid answer) stays a text block.
      const answer = block.type === 'tool_use' ? block.input : block.type === 'text' ? block.text : undefined;
      if (block.type === 'tool_use') {
        expect(block.name).toBe('answer');
        expect(line.result.message.stop_reason).toBe('tool_use');
      }
      const check = jobType.checkAnswer(answer, (key) => LABEL_KEYS.has(key));
      const code = expected.outcome === 'succeeded' ? 'succeeded' : expected.errorCode;
      expect(check.ok ? 'succeeded' : check.code, JSON.stringify(answer)).toBe(code);
      if (check.ok && expected.outcome === 'succeeded') expect(check.rows).toEqual(expected.rows);
      if (code !== 'invalid_content') expect(block.type).toBe('tool_use');
      const kind = `${code}:${block.type}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    expect([...kinds.values()].reduce((a, b) => a + b, 0)).toBe(60);
    expect(kinds.get('succeeded:tool_use')).toBeGreaterThan(0);
    expect(kinds.get('unknown_label:tool_use')).toBeGreaterThan(0);
    expect(kinds.get('invalid_content:text')).toBeGreaterThan(0);
  });

  it('keeps answering requests without the tool in a text block', async () => {
    const created = await client.messages.batches.create({
      requests: [
        {
          custom_id: 'rs-1',
          params: {
            model: 'claude-test',
            max_tokens: 16,
            system: '1: Battery life',
            messages: [{ role: 'user', content: 'battery' }],
          },
        },
      ],
    });
    time.advance(1_000);
    const lines = [];
    for await (const line of await client.messages.batches.results(created.id)) lines.push(line);
    expect(lines).toHaveLength(1);
    const result = lines[0]!.result;
    expect(result.type === 'succeeded' && result.message.content).toEqual([
      { type: 'text', text: '{"viewpoint_ids":[1]}' },
    ]);
  });
});
