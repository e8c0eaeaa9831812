import type { BatchFinalizedEvent } from '@batchline/bus';
import { describe, expect, it } from 'vitest';
import { finalMessage } from '../src/final-message.ts';

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

describe('finalMessage', () => {
  it('says completed, with the provider batch id and the counts (contract §5)', () => {
    const { text } = finalMessage(event());
    expect(text).toContain('batch_abc123');
    expect(text).toMatch(/\bcompleted\b/);
    expect(text).not.toMatch(/\bfailed\b/);
    expect(text).toContain('990/1000');
    expect(text).toContain('10 with errors');
    expect(text).toContain('2345 associations');
  });

  it('says failed with the reason for status 9', () => {
    const { text, blocks } = finalMessage(event({ status: 9, reason: 'expired', providerStatus: 'expired' }));
    expect(text).toMatch(/batch_abc123 failed/);
    expect(text).toContain('expired');
    expect(JSON.stringify(blocks)).toContain('Resubmit');
  });

  it('shows the figures and the most frequent errors in the blocks', () => {
    const blocks = JSON.stringify(finalMessage(event()).blocks);
    expect(blocks).toContain('99.0 %');
    expect(blocks).toContain('`invalid_content` × 6');
    expect(blocks).toContain('1203 s'); // submission → landed
    expect(blocks).toContain('3 s'); // provider done → landed
  });

  it('copes with an empty batch', () => {
    expect(
      finalMessage(event({ totalSentences: 0, processedSentences: 0, failedSentences: 0, topErrors: [] }))
        .text,
    ).toContain('0/0');
  });
});
