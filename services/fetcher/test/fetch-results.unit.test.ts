import { Readable } from 'node:stream';
import { decodeEvent, type ResultsParsedEvent, type StatusChangedEvent, Subjects } from '@batchline/events';
import { builtInJobTypes } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { describe, expect, it, vi } from 'vitest';
import { type FetchOptions, fetchResults } from '../src/fetch-results.ts';
import { RequestIdCollector } from '../src/request-ids.ts';

const log = createLogger({ service: 'test', level: 'silent' });
/** specific_viewpoint as it ships, and its catalogue's keys (as text, as the fetcher loads them). */
const viewpoints = builtInJobTypes().default;
const known = new Set(['1', '2', '3']);

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
const isTransient = (error: unknown) => (error as { transient?: boolean }).transient === true;

/** Everything fetchResults needs besides the files and the publisher, as the service sets it (small limits). */
const options = (
  overrides: Partial<FetchOptions> & Pick<FetchOptions, 'files' | 'publish'>,
): FetchOptions => ({
  jobType: viewpoints,
  isCatalogueKey: (key) => known.has(key),
  recordedRequests: async () => null,
  isGone,
  isTransient,
  maxRecords: 2,
  maxBytes: 1 << 20,
  window: 2,
  downloadRetries: 2,
  retryDelayMs: 1,
  maxHeldBytes: 1 << 20,
  log,
  ...overrides,
});

async function run(contents: Record<string, string>, ev = event(), maxRecords = 2) {
  const chunks: ResultsParsedEvent[] = [];
  const result = await fetchResults(
    options({
      files: files(contents),
      publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
      maxRecords,
    }),
    ev,
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

    expect(records.map((r) => [r.customId, r.outcome, r.errorCode, r.rows])).toEqual([
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
    // The download's size counts the result lines only (not the input file), each with its newline (the error
    // file has none at its end).
    expect(result.summary.download?.bytes).toBe(Buffer.byteLength(output) + Buffer.byteLength(error) + 1);
    expect(chunks.at(-1)!.summary!.download).toEqual(result.summary.download);
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

  it('keeps the last chunk small when the provider reports thousands of errors', async () => {
    const providerErrors = Array.from({ length: 5000 }, (_, i) => ({
      code: 'invalid_request',
      message: `line ${i + 1} is not valid: ${'x'.repeat(2000)}`,
      line: i + 1,
    }));
    const { chunks } = await run(
      {},
      event({
        providerStatus: 'failed',
        reason: 'failed',
        outputFileId: null,
        errorFileId: null,
        providerErrors,
      }),
    );
    const summary = chunks.at(-1)!.summary!;
    expect(summary.providerErrors).toHaveLength(100);
    expect(summary.providerErrors[99]!.line).toBe(100);
    expect(Buffer.byteLength(JSON.stringify(summary))).toBeLessThan(64 * 1024);
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
    const wireRecords: unknown[][] = [];
    await fetchResults(
      options({
        files: files({ in: ids.map(inputLine).join('\n'), out: ids.map((id) => okLine(id, [1])).join('\n') }),
        publish: async (c) => {
          chunks.push(decodeEvent(Subjects.resultsParsed, c.data));
          wireRecords.push(JSON.parse(new TextDecoder().decode(c.data)).records);
        },
        maxRecords: 1000,
        maxBytes: 300,
        window: 4,
      }),
      event({ errorFileId: null }),
    );
    expect(chunks.length).toBeGreaterThan(1);
    // The records as they travel (tuples), one separator each.
    for (const records of wireRecords) expect(JSON.stringify(records).length).toBeLessThanOrEqual(300 + 1);
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
        options({
          files: files({ in: inputLine('rs-1'), out: okLine('rs-1', [1]), err: '' }),
          publish: async () => {
            throw new Error('nats down');
          },
          maxRecords: 1,
          window: 4,
        }),
        event(),
      ),
    ).rejects.toThrow('nats down');
  });

  it('reopens a download that breaks midway and handles every line once', async () => {
    const ids = Array.from({ length: 9 }, (_, i) => `rs-${i + 1}`);
    const contents = { in: ids.map(inputLine).join('\n'), out: ids.map((id) => okLine(id, [1])).join('\n') };
    const whole = await run(contents, event({ errorFileId: null }));

    let outputOpens = 0;
    const breaking = {
      async openFile(id: string) {
        const stream = await files(contents, 40).openFile(id);
        if (id !== 'out' || ++outputOpens > 2) return stream;
        // The first two downloads of the output file end with an error after about a third, then half of it.
        const cut = Math.floor((contents.out.length * (outputOpens + 1)) / 6);
        let sent = 0;
        return Readable.from(
          (async function* () {
            for await (const part of stream) {
              if (sent + part.length > cut) throw Object.assign(new Error('terminated'), { transient: true });
              sent += part.length;
              yield part;
            }
          })(),
        );
      },
    };
    const chunks: ResultsParsedEvent[] = [];
    await fetchResults(
      options({
        files: breaking,
        publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
      }),
      event({ errorFileId: null }),
    );
    expect(outputOpens).toBe(3);
    expect(chunks).toEqual(whole.chunks);
    expect(chunks.flatMap((c) => c.records.map((r) => r.customId))).toEqual(ids);
  });

  it('reads an input file that broke inside a line again from its start, losing no request', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `rs-${i + 1}`);
    const contents = { in: ids.map(inputLine).join('\n'), out: ids.map((id) => okLine(id, [1])).join('\n') };
    let inputOpens = 0;
    const breaking = {
      async openFile(id: string) {
        const stream = await files(contents, 16).openFile(id);
        if (id !== 'in' || ++inputOpens > 1) return stream;
        // The first download of the input file breaks in the middle of its first line.
        const cut = Math.floor(inputLine(ids[0]!).length / 2);
        let sent = 0;
        return Readable.from(
          (async function* () {
            for await (const part of stream) {
              if (sent + part.length > cut) throw Object.assign(new Error('terminated'), { transient: true });
              sent += part.length;
              yield part;
            }
          })(),
        );
      },
    };
    const chunks: ResultsParsedEvent[] = [];
    const { summary } = await fetchResults(
      options({
        files: breaking,
        publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
      }),
      event({ errorFileId: null }),
    );
    expect(inputOpens).toBe(2);
    expect(summary).toMatchObject({ unexpectedLines: 0, missingResults: 0 });
    expect(chunks.flatMap((c) => c.records.map((r) => r.customId))).toEqual(ids);
  });

  it('matches results against the requests recorded at submission, without opening the input file', async () => {
    const opened: string[] = [];
    const contents = {
      in: 'the input file must not be read',
      out: [okLine('rs-1', [1]), okLine('rs-9', [2]), okLine('rs-3', [3])].join('\n'),
    };
    const chunks: ResultsParsedEvent[] = [];
    const { summary } = await fetchResults(
      options({
        files: {
          async openFile(id: string) {
            opened.push(id);
            return files(contents).openFile(id);
          },
        },
        recordedRequests: async (batchLogId) => (batchLogId === 7 ? new Set(['rs-1', 'rs-2', 'rs-3']) : null),
        publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
      }),
      event({ batchLogId: 7, errorFileId: null }),
    );
    expect(opened).toEqual(['out']);
    expect(chunks.flatMap((c) => c.records.map((r) => [r.customId, r.errorCode]))).toEqual([
      ['rs-1', null],
      ['rs-3', null],
      ['rs-2', 'missing_result'],
    ]);
    expect(summary).toMatchObject({ missingResults: 1, unexpectedLines: 1, inputUnavailable: null });
  });

  it('holds at most maxHeldBytes of records while the input file is unread: then the download waits', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `rs-${i + 1}`);
    const contents = { in: ids.map(inputLine).join('\n'), out: ids.map((id) => okLine(id, [1])).join('\n') };
    let releaseInput!: () => void;
    const inputGate = new Promise<void>((resolve) => {
      releaseInput = resolve;
    });
    let outputLinesRead = 0;
    const gated = {
      async openFile(id: string) {
        const stream = await files(contents).openFile(id);
        return Readable.from(
          (async function* () {
            if (id === 'in') await inputGate;
            for await (const part of stream) {
              if (id === 'out') outputLinesRead += String(part).split('\n').length - 1;
              yield part;
            }
          })(),
        );
      },
    };
    const chunks: ResultsParsedEvent[] = [];
    const fetching = fetchResults(
      options({
        files: gated,
        publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
        maxRecords: 50,
        maxHeldBytes: 600,
      }),
      event({ errorFileId: null }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    // ~40 bytes a record: about 15 held, and the download paused soon after; nothing published yet.
    expect(outputLinesRead).toBeLessThan(60);
    expect(chunks).toEqual([]);
    releaseInput();
    const { summary } = await fetching;
    expect(chunks.flatMap((c) => c.records.map((r) => r.customId))).toEqual(ids);
    expect(summary).toMatchObject({ missingResults: 0, unexpectedLines: 0, duplicateLines: 0 });
  });

  it('publishes what it holds as soon as the input file is read, even while the result download stalls', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `rs-${i + 1}`);
    let resumeOutput!: () => void;
    const outputResumed = new Promise<void>((resolve) => {
      resumeOutput = resolve;
    });
    const stalling = {
      async openFile(id: string) {
        if (id === 'in') return files({ in: ids.map(inputLine).join('\n') }).openFile('in');
        return Readable.from(
          (async function* () {
            const lines = ids.map((i) => okLine(i, [1]));
            yield Buffer.from(`${lines.slice(0, 10).join('\n')}\n`);
            await outputResumed;
            yield Buffer.from(lines.slice(10).join('\n'));
          })(),
        );
      },
    };
    const chunks: ResultsParsedEvent[] = [];
    const fetching = fetchResults(
      options({
        files: stalling,
        publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
        maxRecords: 5,
      }),
      event({ errorFileId: null }),
    );
    await vi.waitFor(() => expect(chunks.flatMap((c) => c.records)).toHaveLength(10));
    resumeOutput();
    await fetching;
    expect(chunks.flatMap((c) => c.records.map((r) => r.customId))).toEqual(ids);
  });

  it('makes the same chunks when the input file comes slowly or fast (held lines keep their order)', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `rs-${i + 1}`);
    const contents = {
      in: ids.map(inputLine).join('\n'),
      out: [...ids.slice(10), 'garbage', ...ids.slice(0, 10), 'rs-5']
        .map((id) => (id === 'garbage' ? id : okLine(id, [2])))
        .join('\n'),
    };
    const fast = await run(contents, event({ errorFileId: null }), 4);
    const slowInput = {
      async openFile(id: string) {
        const stream = await files(contents, 50).openFile(id);
        if (id !== 'in') return stream;
        return Readable.from(
          (async function* () {
            for await (const part of stream) {
              await new Promise((resolve) => setTimeout(resolve, 2));
              yield part;
            }
          })(),
        );
      },
    };
    const chunks: ResultsParsedEvent[] = [];
    const { summary } = await fetchResults(
      options({
        files: slowInput,
        publish: async (c) => void chunks.push(decodeEvent(Subjects.resultsParsed, c.data)),
        maxRecords: 4,
      }),
      event({ errorFileId: null }),
    );
    expect(chunks).toEqual(fast.chunks);
    expect(summary).toMatchObject({ duplicateLines: 1, invalidLines: { count: 1 } });
  });

  it('fails with the input file’s own error, without reading the results again for it', async () => {
    let outputOpens = 0;
    const failingInput = {
      async openFile(id: string) {
        if (id === 'out') {
          outputOpens += 1;
          return files({ out: okLine('rs-1', [1]) }).openFile('out');
        }
        return Readable.from(
          (async function* () {
            yield Buffer.from(inputLine('rs-1'));
            throw Object.assign(new Error('input reset'), { transient: true });
          })(),
        );
      },
    };
    await expect(
      fetchResults(
        options({ files: failingInput, publish: async () => undefined, downloadRetries: 1 }),
        event({ errorFileId: null }),
      ),
    ).rejects.toThrow('input reset');
    expect(outputOpens).toBe(1);
  });

  it('gives up after the configured reopenings, so that the event is retried later', async () => {
    const broken = {
      async openFile(id: string) {
        if (id === 'in') return Readable.from([Buffer.from(inputLine('rs-1'))]);
        throw Object.assign(new Error('connection reset'), { transient: true });
      },
    };
    await expect(
      fetchResults(options({ files: broken, publish: async () => undefined }), event({ errorFileId: null })),
    ).rejects.toThrow('connection reset');
  });

  it('keeps every chunk under the byte limit in UTF-8, whatever the script of the messages', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `rs-${i + 1}`);
    const errorLine = (customId: string) =>
      JSON.stringify({
        custom_id: customId,
        response: null,
        error: { code: 'x', message: '日本語の説明'.repeat(20) },
      });
    const chunks: ResultsParsedEvent[] = [];
    const wireRecordBytes: number[] = [];
    await fetchResults(
      options({
        files: files({ in: ids.map(inputLine).join('\n'), err: ids.map(errorLine).join('\n') }),
        publish: async (c) => {
          chunks.push(decodeEvent(Subjects.resultsParsed, c.data));
          const { records } = JSON.parse(new TextDecoder().decode(c.data)) as { records: unknown[] };
          wireRecordBytes.push(
            records.reduce<number>((sum, r) => sum + Buffer.byteLength(JSON.stringify(r)) + 1, 0),
          );
        },
        maxRecords: 1000,
        maxBytes: 2000,
      }),
      event({ outputFileId: null }),
    );
    expect(chunks.flatMap((c) => c.records)).toHaveLength(40);
    expect(chunks.length).toBeGreaterThan(1);
    for (const bytes of wireRecordBytes) expect(bytes).toBeLessThanOrEqual(2000);
  });
});

describe('RequestIdCollector', () => {
  /** Feeds the bytes in pieces of `piece` bytes, so that lines and ids straddle pieces. */
  const collect = (text: string, piece: number, maxLineBytes = 1 << 20) => {
    const collector = new RequestIdCollector(maxLineBytes);
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += piece) collector.push(bytes.subarray(i, i + piece));
    collector.end();
    return [...collector.ids];
  };

  it('finds what JSON.parse finds, however the bytes are cut', () => {
    const lines = [
      inputLine('rs-1'),
      JSON.stringify({ method: 'POST', custom_id: 'rs-2', body: {} }),
      JSON.stringify({ custom_id: 'with "quote"', body: {} }),
      JSON.stringify({ custom_id: 'back\\slash', body: {} }),
      '{"custom_id":"rs-3","body":{"metadata":{"custom_id":"nested"}}}',
      '{"custom_id":"first","custom_id":"last"}',
      JSON.stringify({ custom_id: '', body: {} }),
      JSON.stringify({ custom_id: 42 }),
      JSON.stringify({
        custom_id: 'rs-4',
        body: { messages: [{ role: 'user', content: 'say "custom_id"' }] },
      }),
      JSON.stringify({ custom_id: 'ünïcödé-and-a-long-identifier-0001' }),
      '   ',
      'not json',
      `\uFEFF${inputLine('rs-5')}`,
      `${inputLine('rs-6')}\r`,
    ];
    const expected = lines.flatMap((line) => {
      try {
        const id = (JSON.parse(line.replace(/^\uFEFF/, '')) as { custom_id?: unknown }).custom_id;
        return typeof id === 'string' && id !== '' ? [id] : [];
      } catch {
        return [];
      }
    });
    expect(expected).toContain('last');
    for (const piece of [1, 2, 3, 7, 64, 4096]) {
      expect(collect(lines.join('\n'), piece)).toEqual(expected);
      expect(collect(`${lines.join('\n')}\n`, piece)).toEqual(expected);
    }
  });

  it('skips a line longer than the limit instead of holding it', () => {
    const long = JSON.stringify({ custom_id: 'rs-7', body: { text: 'x'.repeat(500) } });
    const text = [inputLine('rs-8'), long, inputLine('rs-9')].join('\n');
    expect(collect(text, 16, 200)).toEqual(['rs-8', 'rs-9']);
    expect(collect(text, 1000, 200)).toEqual(['rs-8', 'rs-9']);
  });
});
