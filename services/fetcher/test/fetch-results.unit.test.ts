import { Readable } from 'node:stream';
import type { ResultsParsedEvent, StatusChangedEvent } from '@batchline/bus';
import { createLogger } from '@batchline/logging';
import { describe, expect, it } from 'vitest';
import { fetchResults } from '../src/fetch-results.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const known = new Set([1, 2, 3]);

const okLine = (customId: string, ids: number[]) =>
  JSON.stringify({
    id: 'r',
    custom_id: customId,
    response: {
      status_code: 200,
      body: {
        choices: [{ message: { content: JSON.stringify({ viewpoint_ids: ids }) } }],
        usage: { prompt_tokens: 10, completion_tokens: 2 },
      },
    },
    error: null,
  });
const inputLine = (customId: string) =>
  JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: {} });

const event = (overrides: Partial<StatusChangedEvent> = {}): StatusChangedEvent => ({
  batchLogId: 7,
  provider: 'openai',
  providerBatchId: 'batch_x',
  previousProviderStatus: 'finalizing',
  providerStatus: 'completed',
  terminal: true,
  reason: 'completed',
  inputFileId: 'in',
  outputFileId: 'out',
  errorFileId: 'err',
  requestCounts: null,
  providerErrors: [],
  observedAt: new Date().toISOString(),
  ...overrides,
});

/** Serves files from memory in small pieces, so lines straddle chunk boundaries. */
const files = (contents: Record<string, string>, piece = 7) => ({
  async openFile(id: string) {
    const text = contents[id];
    if (text === undefined) throw Object.assign(new Error(`no file ${id}`), { gone: true });
    const bytes = Buffer.from(text);
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += piece) parts.push(bytes.subarray(i, i + piece));
    return Readable.from(parts);
  },
});
const isGone = (error: unknown) => (error as { gone?: boolean }).gone === true;

async function run(contents: Record<string, string>, ev = event(), maxRecords = 2) {
  const chunks: ResultsParsedEvent[] = [];
  const result = await fetchResults(
    {
      files: files(contents),
      isKnownViewpoint: (id) => known.has(id),
      publish: async (c) => void chunks.push(c),
      maxRecords,
      maxBytes: 1 << 20,
      window: 2,
      log,
    },
    ev,
    isGone,
  );
  return { chunks, result, records: chunks.flatMap((c) => c.records) };
}

describe('fetchResults', () => {
  it('lands every request once: first line wins, missing ones become missing_result, the rest is reported', async () => {
    const input = ['rs-1', 'rs-2', 'rs-3', 'rs-4', 'rs-5'].map(inputLine).join('\n');
    const output = [
      okLine('rs-1', [1, 2]),
      okLine('rs-1', [3]), // duplicate: ignored
      'not json at all',
      okLine('rs-9', [1]), // not a request of this batch
      okLine('rs-2', [77]), // unknown viewpoint
      '',
    ].join('\n');
    const error = JSON.stringify({
      custom_id: 'rs-3',
      response: null,
      error: { code: 'server_error', message: 'boom' },
    });
    const { chunks, records, result } = await run({ in: input, out: output, err: error });

    expect(records.map((r) => [r.customId, r.outcome, r.errorCode, r.viewpointIds])).toEqual([
      ['rs-1', 'succeeded', null, [1, 2]],
      ['rs-2', 'failed', 'unknown_viewpoint', []],
      ['rs-3', 'failed', 'server_error', []],
      ['rs-4', 'failed', 'missing_result', []],
      ['rs-5', 'failed', 'missing_result', []],
    ]);
    expect(chunks.map((c) => [c.chunkSeq, c.last, c.chunkCount, c.records.length])).toEqual([
      [0, false, null, 2],
      [1, false, null, 2],
      [2, true, 3, 1],
    ]);
    expect(result.summary).toMatchObject({
      finalStatus: 2,
      reason: 'completed',
      duplicateLines: 1,
      unexpectedLines: 1,
      missingResults: 2,
      linesRead: { output: 5, error: 1 },
      invalidLines: { count: 1, samples: [{ file: 'output', line: 3, error: 'line is not JSON' }] },
      inputUnavailable: null,
      downloadError: null,
    });
  });

  it('publishes one empty last chunk for a failed batch without files', async () => {
    const { chunks } = await run(
      {},
      event({
        providerStatus: 'failed',
        reason: 'failed',
        inputFileId: null,
        outputFileId: null,
        errorFileId: null,
      }),
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ chunkSeq: 0, last: true, chunkCount: 1, records: [] });
    expect(chunks[0]?.summary).toMatchObject({
      finalStatus: 9,
      reason: 'failed',
      inputUnavailable: 'the provider reported no input file',
    });
  });

  it('ends with results_unavailable when a result file is gone', async () => {
    const { result } = await run({ in: inputLine('rs-1'), err: '' }, event());
    expect(result.summary).toMatchObject({
      finalStatus: 9,
      reason: 'results_unavailable',
      missingResults: 1,
    });
    expect(result.summary.downloadError).toContain('output file out');
  });

  it('splits chunks by bytes as well as by count', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `rs-${i + 1}`);
    const chunks: ResultsParsedEvent[] = [];
    await fetchResults(
      {
        files: files({ in: ids.map(inputLine).join('\n'), out: ids.map((id) => okLine(id, [1])).join('\n') }),
        isKnownViewpoint: () => true,
        publish: async (c) => void chunks.push(c),
        maxRecords: 1000,
        maxBytes: 1000,
        window: 4,
        log,
      },
      event({ errorFileId: null }),
      isGone,
    );
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(JSON.stringify(chunk.records).length).toBeLessThanOrEqual(1000 + 200);
    expect(chunks.flatMap((c) => c.records)).toHaveLength(30);
  });

  it('yields the same chunks on a second run (stable de-duplication ids)', async () => {
    const contents = {
      in: ['rs-1', 'rs-2', 'rs-3'].map(inputLine).join('\n'),
      out: okLine('rs-2', [1]),
      err: '',
    };
    const first = await run(contents);
    const second = await run(contents);
    expect(second.chunks).toEqual(first.chunks);
  });

  it('propagates a publish failure instead of losing it', async () => {
    await expect(
      fetchResults(
        {
          files: files({ in: inputLine('rs-1'), out: okLine('rs-1', [1]), err: '' }),
          isKnownViewpoint: () => true,
          publish: async () => {
            throw new Error('nats down');
          },
          maxRecords: 1,
          maxBytes: 1 << 20,
          window: 4,
          log,
        },
        event(),
        isGone,
      ),
    ).rejects.toThrow('nats down');
  });
});
