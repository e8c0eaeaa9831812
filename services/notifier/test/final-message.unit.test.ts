import { DEFAULT_MODEL_PRICES } from '@batchline/config';
import type { BatchFinalizedEvent } from '@batchline/events';
import { describe, expect, it } from 'vitest';
import { estimateCost } from '../src/messages/cost.ts';
import { finalMessage } from '../src/messages/final-message.ts';
import type { FinalBatchDetails } from '../src/store/final-batch-details.ts';
import { expectWithinSlackLimits } from './slack-limits.ts';

const pricing = { prices: DEFAULT_MODEL_PRICES, batchDiscountPercent: { openai: 50, anthropic: 50 } };

const event = (overrides: Partial<BatchFinalizedEvent> = {}): BatchFinalizedEvent => ({
  version: 1,
  batchLogId: 12,
  provider: 'openai',
  providerBatchId: 'batch_abc123',
  status: 2,
  reason: 'completed',
  providerStatus: 'completed',
  totalSentences: 1000,
  processedSentences: 990,
  failedSentences: 10,
  associations: 2345,
  topErrors: [
    { code: 'invalid_content', count: 6 },
    { code: 'http_500', count: 4 },
  ],
  invalidLines: 1,
  submittedAt: '2026-11-23T10:00:00.000Z',
  providerTerminalAt: '2026-11-23T10:20:00.000Z',
  landedAt: '2026-11-23T10:20:03.000Z',
  ...overrides,
});

const details = (overrides: Partial<FinalBatchDetails> = {}): FinalBatchDetails => ({
  jobType: 'specific_viewpoint',
  model: 'gpt-4o-mini-2024-07-18',
  promptTokens: 2_000_000,
  completionTokens: 500_000,
  cachedPromptTokens: 0,
  providerErrors: [],
  missingResults: 0,
  downloadError: null,
  inputUnavailable: null,
  ...overrides,
});

describe('finalMessage', () => {
  it('says completed, with the provider batch id and the counts (contract §5)', () => {
    const { text } = finalMessage(event(), details(), pricing);
    expect(text).toContain('batch_abc123');
    expect(text).toMatch(/\bcompleted\b/);
    expect(text).not.toMatch(/\bfailed\b/);
    expect(text).toContain('990/1000');
    expect(text).toContain('10 with errors');
    expect(text).toContain('2345 associations');
  });

  it('gives the download size and the landing throughput when the fetch measured them, the text unchanged', () => {
    const throughput = {
      downloadBytes: 3 * 1024 * 1024 + 200 * 1024,
      landedRows: 1000,
      landedRowsPerSecond: 2345.6,
    };
    const measured = finalMessage(event({ throughput }), details(), pricing);
    expect(measured.text).toBe(finalMessage(event(), details(), pricing).text);
    expect(JSON.stringify(measured.blocks)).toContain(
      'Downloaded 3.2 MiB of results · landed 1,000 results at 2,346 rows/s',
    );
    expect(JSON.stringify(finalMessage(event(), details(), pricing).blocks)).not.toContain('Downloaded');
    expectWithinSlackLimits(measured);
  });

  it('says failed with the reason for status 9', () => {
    const { text, blocks } = finalMessage(
      event({ status: 9, reason: 'expired', providerStatus: 'expired' }),
      details(),
      pricing,
    );
    expect(text).toMatch(/batch_abc123 failed/);
    expect(text).toContain('expired');
    expect(JSON.stringify(blocks)).toContain('Resubmit');
  });

  it('names a batch ended by batchline itself (expired by us)', () => {
    const { text } = finalMessage(event({ status: 9, reason: 'max_age' }), details(), pricing);
    expect(text).toContain('ended by batchline');
  });

  it('shows the figures, the durations and the most frequent errors in the blocks', () => {
    const blocks = JSON.stringify(finalMessage(event(), details(), pricing).blocks);
    expect(blocks).toContain('99.0 %');
    expect(blocks).toContain('`invalid_content` × 6');
    expect(blocks).toContain('20 min 3 s'); // submission → landed
    expect(blocks).toContain('3 s'); // provider done → landed
  });

  it('estimates the cost at the batch price and the saving against the synchronous API', () => {
    // gpt-4o-mini: $0.15 / $0.60 per million tokens synchronously; 2M in + 0.5M out = $0.60, half at batch price.
    expect(
      estimateCost(pricing, 'openai', 'gpt-4o-mini-2024-07-18', {
        promptTokens: 2_000_000,
        completionTokens: 500_000,
      }),
    ).toEqual({
      pricedAs: 'gpt-4o-mini',
      synchronousUsd: 0.6,
      batchUsd: 0.3,
      savingUsd: 0.3,
    });
    const blocks = JSON.stringify(finalMessage(event(), details(), pricing).blocks);
    expect(blocks).toContain('$0.3000');
    expect(blocks).toContain('$0.6000');
    expect(blocks).toContain('saving of $0.3000 (50 %)');
  });

  it('prices the cached input tokens at the cached-input price', () => {
    // 1M of the 2M input tokens cached: $0.075 instead of $0.15 for them, so $0.525 synchronously, half at batch price.
    const cached = details({ cachedPromptTokens: 1_000_000 });
    expect(estimateCost(pricing, 'openai', 'gpt-4o-mini', cached)).toMatchObject({
      synchronousUsd: 0.525,
      batchUsd: 0.2625,
    });
    const text = JSON.stringify(finalMessage(event(), cached, pricing).blocks);
    expect(text).toContain('2,000,000 input (1,000,000 of them cached) + 500,000 output tokens');
    expect(text).toContain('$0.2625');
  });

  it('says why the cost is unknown', () => {
    const unknownModel = JSON.stringify(
      finalMessage(event(), details({ model: 'my-finetune' }), pricing).blocks,
    );
    expect(unknownModel).toContain('no price for `my-finetune`');
    expect(unknownModel).toContain('MODEL_PRICES');
    expect(JSON.stringify(finalMessage(event(), null, pricing).blocks)).toContain('batch log was not found');
  });

  it('lists the provider errors and what partial output landed for a failed batch, escaped', () => {
    const blocks = JSON.stringify(
      finalMessage(
        event({ status: 9, reason: 'failed', processedSentences: 120, associations: 300 }),
        details({
          providerErrors: [{ code: 'invalid_json_line', message: 'line <3> is not JSON & more', line: 3 }],
          missingResults: 870,
        }),
        pricing,
      ).blocks,
    );
    expect(blocks).toContain('`invalid_json_line` (line 3): line &lt;3&gt; is not JSON &amp; more');
    expect(blocks).toContain('120 of 1000 requests landed with 300 associations');
    expect(blocks).toContain('870 requests had no result line');
  });

  it('copes with an empty batch, and stays within Slack limits', () => {
    const message = finalMessage(
      event({ totalSentences: 0, processedSentences: 0, failedSentences: 0, topErrors: [] }),
      details(),
      pricing,
    );
    expect(message.text).toContain('0/0');
    expectWithinSlackLimits(message);
    expectWithinSlackLimits(
      finalMessage(
        event({ status: 9, reason: 'failed' }),
        details({
          providerErrors: Array.from({ length: 50 }, (_, i) => ({
            code: 'x',
            message: 'y'.repeat(5000),
            line: i,
          })),
        }),
        pricing,
      ),
    );
  });
});

describe('finalMessage names the job type', () => {
  const headerOf = (blocks: Record<string, unknown>[]) =>
    (blocks.find((block) => block.type === 'header') as { text: { text: string } }).text.text;
  const contextsOf = (blocks: Record<string, unknown>[]) =>
    blocks
      .filter((block) => block.type === 'context')
      .map((block) => (block as { elements: { text: string }[] }).elements[0]!.text);

  it('keeps the viewpoint text exactly as docs/interface.md §5 writes it, and names the job type in the blocks', () => {
    const { text, blocks } = finalMessage(event(), details(), pricing);
    expect(text).toBe(
      'Batch batch_abc123 completed: 990/1000 requests succeeded, 10 with errors, 2345 associations written (batch log 12, openai).',
    );
    expect(finalMessage(event({ status: 9, reason: 'expired' }), details(), pricing).text).toBe(
      'Batch batch_abc123 failed: 990/1000 requests succeeded, 10 with errors, 2345 associations written (batch log 12, openai; the batch expired at the provider).',
    );
    expect(headerOf(blocks)).toBe('✅ specific_viewpoint batch completed: batch_abc123');
    expect(contextsOf(blocks)).toContain('Job type `specific_viewpoint` · batch log 12 · openai');
    expect(JSON.stringify(blocks)).toContain('*Associations*\\n2345');
  });

  it('names another job type in the text, header and context, and counts its rows as rows written', () => {
    const sentiment = details({ jobType: 'review_sentiment' });
    const completed = finalMessage(event(), sentiment, pricing);
    expect(completed.text).toBe(
      'Batch batch_abc123 completed: 990/1000 requests succeeded, 10 with errors, 2345 rows written (job type review_sentiment, batch log 12, openai).',
    );
    expect(headerOf(completed.blocks)).toBe('✅ review_sentiment batch completed: batch_abc123');
    expect(contextsOf(completed.blocks)).toContain('Job type `review_sentiment` · batch log 12 · openai');
    expect(JSON.stringify(completed.blocks)).toContain('*Rows written*\\n2345');
    expect(JSON.stringify(completed)).not.toMatch(/association/i);

    const failed = finalMessage(
      event({ status: 9, reason: 'failed', processedSentences: 120, associations: 300 }),
      sentiment,
      pricing,
    );
    expect(failed.text).toBe(
      'Batch batch_abc123 failed: 120/1000 requests succeeded, 10 with errors, 300 rows written (job type review_sentiment, batch log 12, openai; the provider failed the batch).',
    );
    expect(headerOf(failed.blocks)).toBe('❌ review_sentiment batch failed: batch_abc123');
    expect(JSON.stringify(failed.blocks)).toContain('120 of 1000 requests landed with 300 rows');
    expectWithinSlackLimits(failed);
  });

  it('says the job type is unknown when the batch log is not found', () => {
    const { text, blocks } = finalMessage(event(), null, pricing);
    expect(text).toBe(
      'Batch batch_abc123 completed: 990/1000 requests succeeded, 10 with errors, 2345 rows written (job type unknown, batch log 12, openai).',
    );
    expect(headerOf(blocks)).toBe('✅ unknown batch completed: batch_abc123');
  });
});
