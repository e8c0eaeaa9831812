import { Readable } from 'node:stream';
import { parseAnthropicResultLine } from '@batchline/domain';
import { decodeEvent, type ResultsParsedEvent, type StatusChangedEvent, Subjects } from '@batchline/events';
import { builtInJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { describe, expect, it } from 'vitest';
import { fetchResults } from '../src/fetch-results.ts';

const log = createLogger({ service: 'test', level: 'silent' });

const succeeded = (customId: string, ids: number[]) =>
  JSON.stringify({
    custom_id: customId,
    result: {
      type: 'succeeded',
      message: {
        content: [{ type: 'text', text: JSON.stringify({ viewpoint_ids: ids }) }],
        usage: { input_tokens: 12, output_tokens: 3 },
      },
    },
  });
const results = [
  succeeded('rs-1', [1]),
  JSON.stringify({
    custom_id: 'rs-2',
    result: {
      type: 'errored',
      error: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } },
    },
  }),
  JSON.stringify({ custom_id: 'rs-3', result: { type: 'canceled' } }),
  JSON.stringify({ custom_id: 'rs-4', result: { type: 'expired' } }),
  'not json',
].join('\n');

const event: StatusChangedEvent = {
  batchLogId: 9,
  provider: 'anthropic',
  providerBatchId: 'msgbatch_x',
  previousProviderStatus: 'canceling',
  providerStatus: 'ended',
  terminal: true,
  reason: 'cancelled',
  inputFileId: null,
  outputFileId: 'msgbatch_x',
  errorFileId: null,
  requestCounts: { total: 4, completed: 1, failed: 3 },
  providerErrors: [],
  observedAt: new Date().toISOString(),
};

describe('fetchResults for an Anthropic batch', () => {
  it('reads the results stream with the provider’s parser; no input file is no problem there', async () => {
    const chunks: ResultsParsedEvent[] = [];
    const { summary } = await fetchResults(
      {
        files: {
          openFile: async (id) => {
            expect(id).toBe('msgbatch_x');
            return Readable.from([Buffer.from(results)]);
          },
          parseResultLine: parseAnthropicResultLine,
          hasInputFiles: false,
        },
        jobType: builtInJobTypes().default,
        isCatalogueKey: (key) => ['1', '2', '3'].includes(key),
        recordedRequests: async () => null,
        publish: async (chunk) => void chunks.push(decodeEvent(Subjects.resultsParsed, chunk.data)),
        isGone: () => false,
        isTransient: () => false,
        maxRecords: 10,
        maxBytes: 1 << 20,
        window: 2,
        downloadRetries: 0,
        retryDelayMs: 1,
        maxHeldBytes: 1 << 20,
        log,
      },
      event,
    );
    const records = chunks.flatMap((chunk) => chunk.records);
    expect(records.map((r) => [r.customId, r.outcome, r.errorCode, r.rows])).toEqual([
      ['rs-1', 'succeeded', null, [1]],
      ['rs-2', 'failed', 'overloaded_error', []],
      ['rs-3', 'failed', 'batch_cancelled', []],
      ['rs-4', 'failed', 'batch_expired', []],
    ]);
    expect(records[0]).toMatchObject({ promptTokens: 12, completionTokens: 3 });
    expect(summary).toMatchObject({
      finalStatus: 9,
      reason: 'cancelled',
      inputUnavailable: null,
      missingResults: 0,
      invalidLines: { count: 1 },
      linesRead: { output: 5, error: 0 },
    });
    expect(chunks.at(-1)!.provider).toBe('anthropic');
  });
});
