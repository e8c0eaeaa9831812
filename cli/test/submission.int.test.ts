import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createPool,
  getBatchJob,
  listJobBatchLogs,
  loadRequestCustomIds,
  migrate,
  type Pool,
  upsertViewpoints,
} from '@batchline/db';
import type { ProviderName, RetryPolicy } from '@batchline/domain';
import { builtInJobTypes, compileJobType, JobTypeError, readJobTypeFile } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import type { BatchProvider, CreateBatchInput, ProviderBatch } from '@batchline/providers';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitRequests } from '../src/submission.ts';
import { DOC_TOPICS } from './declarations.ts';

const log = createLogger({ service: 'submission-test', level: 'silent' });
const EXAMPLES = new URL('../../examples/job-types/', import.meta.url);
const defaultRetryPolicy: RetryPolicy = { codes: ['http_429', 'http_5xx'], maxRounds: 2, delayMs: 30_000 };

/** A provider that records the request files it is given, with small limits. */
function recordingProvider(name: ProviderName, limits: BatchProvider['limits']) {
  const files: { endpoint: string; lines: Record<string, unknown>[]; bytes: number }[] = [];
  const provider = {
    name,
    limits,
    hasInputFiles: name === 'openai',
    async uploadAndCreateBatch(input: CreateBatchInput): Promise<ProviderBatch> {
      const text = await readFile(input.inputPath, 'utf8');
      files.push({
        endpoint: input.endpoint,
        lines: text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line)),
        bytes: Buffer.byteLength(text),
      });
      const id = `${name}-batch-${files.length}-${Math.random().toString(36).slice(2)}`;
      return { id, inputFileId: name === 'openai' ? `file-${files.length}` : null } as ProviderBatch;
    },
  } as unknown as BatchProvider;
  return { provider, files };
}

describe('submitRequests', () => {
  let db: TestDatabase;
  let pool: Pool;
  const jobType = builtInJobTypes().default;
  const records = Array.from({ length: 7 }, (_, i) => ({ id: i + 1, fields: { text: `sentence ${i + 1}` } }));

  beforeAll(async () => {
    db = await createTestDatabase('submission');
    pool = createPool({ connectionString: db.url, log, applicationName: 'submission-test' });
    await migrate(pool, log);
    await upsertViewpoints(pool, [{ id: 1, name: 'Battery life' }]);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('splits over the provider’s request limit, one pending batch log per part', async () => {
    const { provider, files } = recordingProvider('openai', { maxRequests: 3, maxBytes: 1 << 30 });
    const submitted = await submitRequests({
      pool,
      provider,
      jobType,
      records,
      model: 'gpt-x',
      firstPollDelayMs: 0,
      defaultRetryPolicy,
    });
    expect(files.map((file) => file.lines.length)).toEqual([3, 3, 1]);
    expect(submitted.batches.map((batch) => batch.requests)).toEqual([3, 3, 1]);
    expect(files[0]!.endpoint).toBe('/v1/chat/completions');
    expect(files.flatMap((file) => file.lines.map((line) => line.custom_id))).toEqual(
      records.map((record) => `rs-${record.id}`),
    );
    const { rows } = await pool.query(
      'SELECT total_sentences, status, provider FROM batch_jobs_vp_logs WHERE id = ANY($1) ORDER BY id',
      [submitted.batches.map((batch) => batch.batchLogId)],
    );
    expect(rows).toEqual([3, 3, 1].map((n) => ({ total_sentences: n, status: 1, provider: 'openai' })));
    // Each batch's requests are recorded with it: the fetcher matches results without the input file.
    const recorded = await Promise.all(
      submitted.batches.map((batch) => loadRequestCustomIds(pool, batch.batchLogId)),
    );
    expect(recorded.map((ids) => [...ids!])).toEqual([
      files[0]!.lines.map((line) => line.custom_id),
      files[1]!.lines.map((line) => line.custom_id),
      files[2]!.lines.map((line) => line.custom_id),
    ]);
    // The submission is one job, its parts in order, with the retry policy in force kept with it.
    const job = await getBatchJob(pool, submitted.batchJobId);
    expect(job).toMatchObject({
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-x',
      origin: 'submit',
      totalRequests: 7,
      retryPolicy: defaultRetryPolicy,
      outcome: null,
    });
    const parts = await listJobBatchLogs(pool, submitted.batchJobId);
    expect(parts.map((part) => [part.id, part.partIndex, part.parentBatchLogId, part.retryRound])).toEqual(
      submitted.batches.map((batch, index) => [batch.batchLogId, index, null, 0]),
    );
    // What it sent is recorded with the job: a retry rebuilds the lines from it once the input file is gone.
    const { rows: inputs } = await pool.query(
      'SELECT request_id, fields FROM batch_job_inputs WHERE batch_job_id = $1 ORDER BY request_id::int',
      [submitted.batchJobId],
    );
    expect(inputs).toEqual(records.map(({ id, fields }) => ({ request_id: String(id), fields })));
  });

  it("keeps the job type's declared retry fields laid over the default", async () => {
    const { provider } = recordingProvider('openai', { maxRequests: 10, maxBytes: 1 << 30 });
    const declared = compileJobType(
      { ...DOC_TOPICS, name: 'retried_topics', retry: { maxRounds: 5, delaySeconds: 2 } },
      'submission.int.test.ts',
    );
    const submitted = await submitRequests({
      pool,
      provider,
      jobType: declared,
      records: ['a', 'b'].map((id) => ({ id, fields: { title: 't', body: 'b' } })),
      model: 'gpt-x',
      firstPollDelayMs: 0,
      defaultRetryPolicy,
    });
    expect((await getBatchJob(pool, submitted.batchJobId))?.retryPolicy).toEqual({
      codes: defaultRetryPolicy.codes,
      maxRounds: 5,
      delayMs: 2000,
    });
  });

  it('splits over the byte limit, and writes Anthropic’s request shape for Anthropic', async () => {
    const probe = recordingProvider('anthropic', { maxRequests: 100, maxBytes: 1 << 30 });
    await submitRequests({
      pool,
      provider: probe.provider,
      jobType,
      records: records.slice(0, 1),
      model: 'claude-x',
      firstPollDelayMs: 0,
      defaultRetryPolicy,
    });
    const lineBytes = probe.files[0]!.bytes;
    const { provider, files } = recordingProvider('anthropic', {
      maxRequests: 100,
      maxBytes: lineBytes * 2 + 10,
    });
    const submitted = await submitRequests({
      pool,
      provider,
      jobType,
      records,
      model: 'claude-x',
      firstPollDelayMs: 0,
      defaultRetryPolicy,
    });
    expect(files.map((file) => file.lines.length)).toEqual([2, 2, 2, 1]);
    expect(files.every((file) => file.bytes <= lineBytes * 2 + 10)).toBe(true);
    expect(files[0]!.endpoint).toBe('/v1/messages');
    expect(files[0]!.lines[0]).toMatchObject({
      custom_id: 'rs-1',
      params: {
        model: 'claude-x',
        max_tokens: expect.any(Number),
        messages: [{ role: 'user', content: 'sentence 1' }],
      },
    });
    expect((files[0]!.lines[0] as { params: { system: string } }).params.system).toContain('1: Battery life');
    expect(submitted.batches).toHaveLength(4);
  });

  it('writes a declared job type’s Anthropic requests (the forced answer tool) and records its job type', async () => {
    await pool.query(await readFile(new URL('sentiment_labels.sql', EXAMPLES), 'utf8'));
    const [sentiment] = readJobTypeFile(fileURLToPath(new URL('review_sentiment.yaml', EXAMPLES)));
    const { provider, files } = recordingProvider('anthropic', { maxRequests: 2, maxBytes: 1 << 30 });
    const submitted = await submitRequests({
      pool,
      provider,
      jobType: sentiment!,
      records: records.slice(0, 3),
      model: 'claude-x',
      firstPollDelayMs: 0,
      defaultRetryPolicy,
    });
    expect(files.map((file) => file.endpoint)).toEqual(['/v1/messages', '/v1/messages']);
    expect(files.flatMap((file) => file.lines.map((line) => line.custom_id))).toEqual([
      'sent-1',
      'sent-2',
      'sent-3',
    ]);
    expect(files[0]!.lines[0]).toMatchObject({
      params: {
        model: 'claude-x',
        messages: [{ role: 'user', content: 'sentence 1' }],
        tools: [{ name: 'answer' }],
        tool_choice: { type: 'tool', name: 'answer' },
      },
    });
    const { rows } = await pool.query(
      'SELECT job_type, total_sentences FROM batch_jobs_vp_logs WHERE id = ANY($1) ORDER BY id',
      [submitted.batches.map((batch) => batch.batchLogId)],
    );
    expect(rows).toEqual([
      { job_type: 'review_sentiment', total_sentences: 2 },
      { job_type: 'review_sentiment', total_sentences: 1 },
    ]);
  });

  it('builds every request before uploading any: an id Anthropic refuses, even in a later part, creates no batch', async () => {
    const { provider, files } = recordingProvider('anthropic', { maxRequests: 1, maxBytes: 1 << 30 });
    const submission = submitRequests({
      pool,
      provider,
      jobType: compileJobType(DOC_TOPICS, 'submission.int.test.ts'),
      records: ['fine', 'has.dot'].map((id) => ({ id, fields: { title: 't', body: 'b' } })),
      model: 'claude-x',
      firstPollDelayMs: 0,
      defaultRetryPolicy,
    });
    await expect(submission).rejects.toThrow(JobTypeError);
    await expect(submission).rejects.toThrow(/doc-has\.dot.*Anthropic/);
    expect(files).toEqual([]);
    const { rows } = await pool.query(
      "SELECT count(*)::int AS jobs FROM batch_jobs WHERE job_type = 'doc_topics'",
    );
    expect(rows[0].jobs).toBe(0);
    const { rows: inputs } = await pool.query(
      "SELECT count(*)::int AS inputs FROM batch_job_inputs WHERE request_id IN ('fine', 'has.dot')",
    );
    expect(inputs[0].inputs).toBe(0);
  });
});
