import { Readable } from 'node:stream';
import { decodeEvent, type ResultsParsedEvent, type StatusChangedEvent, Subjects } from '@batchline/events';
import { compileJobType, type JobType } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { embeddingsDeclaration, sentimentDeclaration } from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import { fetchResults } from '../src/fetch-results.ts';

const sentiment = compileJobType(sentimentDeclaration(), 'sentiment.test.yaml');
const embeddings = compileJobType(embeddingsDeclaration(), 'embeddings.test.yaml');
const keepingSentiment = compileJobType(
  { ...sentimentDeclaration(), keepRawAnswers: true },
  'sentiment.keeping.test.yaml',
);

const chatLine = (customId: string, content: string) =>
  JSON.stringify({
    custom_id: customId,
    response: {
      status_code: 200,
      body: { choices: [{ message: { content } }], usage: { prompt_tokens: 9 } },
    },
    error: null,
  });
const embeddingLine = (customId: string, embedding: number[]) =>
  JSON.stringify({
    custom_id: customId,
    response: {
      status_code: 200,
      body: {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding }],
        usage: { prompt_tokens: 3 },
      },
    },
    error: null,
  });

const event: StatusChangedEvent = {
  batchLogId: 12,
  provider: 'openai',
  providerBatchId: 'batch_jt',
  previousProviderStatus: 'finalizing',
  providerStatus: 'completed',
  terminal: true,
  reason: 'completed',
  inputFileId: 'in',
  outputFileId: 'out',
  errorFileId: null,
  requestCounts: null,
  providerErrors: [],
  observedAt: new Date().toISOString(),
};

/** Fetches one output file of `jobType` whose requests were recorded at submission. */
async function fetchOf(
  jobType: JobType,
  output: string[],
  requests: string[],
  { maxBytes = 1 << 20 }: { maxBytes?: number } = {},
) {
  const chunks: ResultsParsedEvent[] = [];
  const wire: unknown[] = [];
  const bodies: Uint8Array[] = [];
  await fetchResults(
    {
      files: { openFile: async () => Readable.from([Buffer.from(output.join('\n'))]) },
      recordedRequests: async () => new Set(requests),
      jobType,
      isCatalogueKey: (key) => ['good', 'bad'].includes(key),
      publish: async (chunk) => {
        bodies.push(chunk.data);
        chunks.push(decodeEvent(Subjects.resultsParsed, chunk.data));
        wire.push(...JSON.parse(new TextDecoder().decode(chunk.data)).records);
      },
      isGone: () => false,
      isTransient: () => false,
      maxRecords: 100,
      maxBytes,
      window: 2,
      downloadRetries: 0,
      retryDelayMs: 1,
      maxHeldBytes: 1 << 20,
      log: createLogger({ service: 'test', level: 'silent' }),
    },
    event,
  );
  return { chunks, wire, bodies };
}

describe('fetchResults for a declared job type', () => {
  it('ships rows of several value columns as rows, names the job type, and misses requests by its prefix', async () => {
    const { chunks, wire } = await fetchOf(
      sentiment,
      [
        chatLine('sent-1', '{"label":"good","score":0.5}'),
        chatLine('sent-2', '{"label":"great","score":0.5}'),
        chatLine('rs-3', '{"label":"good","score":0.5}'),
      ],
      ['sent-1', 'sent-2', 'sent-4'],
    );
    expect(chunks.map((chunk) => chunk.jobType)).toEqual(['review_sentiment']);
    expect(wire).toEqual([
      ['sent-1', 1, [['good', 0.5]], null, null, 9, null],
      ['sent-2', 2, [], 'unknown_label', expect.stringContaining('great'), 9, null],
      ['sent-4', 4, [], 'missing_result', 'no line for this request in the output or error file', null, null],
    ]);
    expect(chunks[0]!.summary).toMatchObject({ unexpectedLines: 1, missingResults: 1 });
  });

  it('ships an embeddings job type’s one column flat: each row is its vector', async () => {
    const { wire } = await fetchOf(
      embeddings,
      [embeddingLine('emb-doc.1', [0.5, -1, 0.25, 2]), embeddingLine('emb-doc.2', [1, 2])],
      ['emb-doc.1', 'emb-doc.2', 'emb-doc.3'],
    );
    expect(wire).toEqual([
      ['emb-doc.1', 'doc.1', [[0.5, -1, 0.25, 2]], null, null, 3, null],
      ['emb-doc.2', 'doc.2', [], 'invalid_content', expect.any(String), 3, null],
      ['emb-doc.3', 'doc.3', [], 'missing_result', expect.any(String), null, null],
    ]);
  });

  describe('keepRawAnswers', () => {
    const lines = [
      chatLine('sent-1', '{"label":"good","score":0.5}'),
      // Spacing and key order as a provider might write them: kept as they are, not re-serialized.
      '{"custom_id":  "sent-2", "error": {"code": "server_error", "message": "ünïcode 🎉"}, "response": null}',
      chatLine('sent-1', '{"label":"bad","score":0.1}'),
      chatLine('rs-9', '{"label":"good","score":0.5}'),
    ];
    const requests = ['sent-1', 'sent-2', 'sent-3'];

    it('ships each landed line as the provider wrote it beside the records, the first line of a custom_id', async () => {
      const { chunks } = await fetchOf(keepingSentiment, lines, requests);
      expect(chunks.flatMap((chunk) => chunk.rawAnswers ?? [])).toEqual([
        ['sent-1', lines[0]],
        ['sent-2', lines[1]],
      ]);
      expect(chunks.at(-1)!.summary).toMatchObject({ rawAnswersTooLong: 0, duplicateLines: 1 });
    });

    it('counts the raw answers in the chunk bytes, and keeps none over half a chunk', async () => {
      const many = Array.from({ length: 40 }, (_, i) =>
        chatLine(`sent-${i + 1}`, '{"label":"good","score":0.5}'),
      );
      const ids = many.map((_, i) => `sent-${i + 1}`);
      const maxBytes = 2000;
      const plain = await fetchOf(sentiment, many, ids, { maxBytes });
      const kept = await fetchOf(keepingSentiment, many, ids, { maxBytes });
      expect(kept.chunks.length).toBeGreaterThan(plain.chunks.length);
      for (const chunk of kept.chunks.slice(0, -1))
        expect(chunk.rawAnswers).toHaveLength(chunk.records.length);
      // Records and raw answers together within maxBytes; the rest is the envelope and the last chunk's summary.
      for (const body of kept.bodies) expect(body.length).toBeLessThanOrEqual(maxBytes + 1000);
      expect(kept.chunks.flatMap((chunk) => chunk.rawAnswers!.map(([, line]) => line))).toEqual(many);

      const long = chatLine(
        'sent-1',
        JSON.stringify({ label: 'good', score: 0.5, note: 'x'.repeat(maxBytes) }),
      );
      const tooLong = await fetchOf(keepingSentiment, [long], ['sent-1'], { maxBytes });
      expect(tooLong.chunks.flatMap((chunk) => chunk.rawAnswers ?? [])).toEqual([]);
      expect(tooLong.chunks.at(-1)!.summary).toMatchObject({ rawAnswersTooLong: 1 });
    });

    it('leaves the chunks of a job type without it unchanged: no rawAnswers field, no summary count', async () => {
      const { chunks, bodies } = await fetchOf(sentiment, lines, requests);
      for (const body of bodies) expect(new TextDecoder().decode(body)).not.toContain('rawAnswers');
      expect(chunks.every((chunk) => chunk.rawAnswers === undefined)).toBe(true);
    });
  });
});
