import { DEFAULT_MODEL_PRICES } from '@batchline/config';
import type { BatchFinalizedEvent } from '@batchline/events';
import { describe, expect, it } from 'vitest';
import { estimateCost } from '../src/messages/cost.ts';
import { finalMessage } from '../src/messages/final-message.ts';
import type { FinalBatchDetails } from '../src/store/final-batch-details.ts';
import { expectWithinSlackLimits } from './slack-limits.ts';

const pricing = { prices: DEFAULT_MODEL_PRICES, batchDiscountPercent: { openai: 50, anthropic: 50 } };

const event = (overrides: Partial<BatchFinalizedEvent> = {}): BatchFinalizedEvent => ({
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
  model: 'gpt-4o-mini-2024-07-18',
  promptTokens: 2_000_000,
  completionTokens: 500_000,
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
    expect(estimateCost(pricing, 'openai', 'gpt-4o-mini-2024-07-18', 2_000_000, 500_000)).toEqual({
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
