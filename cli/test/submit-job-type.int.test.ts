import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, getBatchJob, getBatchLog, loadRequestCustomIds, type Pool } from '@batchline/db';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
import { createOpenAIProvider } from '@batchline/providers';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDeclarations } from './declarations.ts';
import { cliEnv, runCli, TEST_OPENAI_KEY } from './support.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples/job-types/', import.meta.url));

/**
 * A new job type needs no code (issue 14): declarations in a temporary folder, `migrate` creates their tables,
 * `submit --job-type` builds the requests from the declaration and the batch is created at the emulator.
 */
describe('batchline submit and track --job-type', () => {
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(args, { ...env, ...extraEnv });

  const input = async (name: string, lines: readonly unknown[]): Promise<string> => {
    const path = join(dir, name);
    await writeFile(
      path,
      lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n'),
    );
    return path;
  };

  /** The request file the emulator was given for a submitted batch, read back over its files API. */
  const uploadedRequests = async (batchLogId: number): Promise<Record<string, unknown>[]> => {
    const batch = await getBatchLog(pool, batchLogId);
    const response = await fetch(`${emulator.baseUrl}/files/${batch!.inputFileId}/content`, {
      headers: { authorization: `Bearer ${TEST_OPENAI_KEY}` },
    });
    expect(response.status).toBe(200);
    return (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  const submitted = (stdout: string) => {
    const match = /^batch log (\d+)\tprovider batch (\S+)\t(\d+) requests$/m.exec(stdout);
    expect(match, stdout).not.toBeNull();
    return { batchLogId: Number(match![1]), providerBatchId: match![2]!, requests: Number(match![3]) };
  };

  beforeAll(async () => {
    db = await createTestDatabase('cli_submit_job_type');
    emulator = await startEmulator();
    dir = await mkdtemp(join(tmpdir(), 'batchline-submit-job-type-'));
    env = cliEnv(db.url, emulator, {
      BATCHLINE_MODEL: 'gpt-configured',
      BATCHLINE_JOB_TYPES: await writeDeclarations(join(dir, 'job-types')),
    });
    pool = createPool({
      connectionString: db.url,
      log: createLogger({ service: 'cli-test', level: 'silent' }),
      applicationName: 'cli-submit-job-type-test',
    });
    expect((await cli(['migrate'])).code).toBe(0);
  });
  afterAll(async () => {
    await pool?.end();
    await emulator?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const reviews = [
    { review_id: 7, text: 'Loved it' },
    { review_id: 3, text: 'Broke after a day' },
  ];

  it('submit needs the job type’s catalogue to exist and hold entries', async () => {
    const path = await input('reviews-early.jsonl', reviews);
    const absent = await cli(['submit', '--job-type', 'review_sentiment', '--input', path]);
    expect(absent.code).toBe(1);
    expect(absent.stderr.trim()).toBe(
      'batchline: sentiment_labels, the catalogue of job type review_sentiment, does not exist: create and fill it before submitting',
    );
    await pool.query('CREATE TABLE sentiment_labels (name text PRIMARY KEY, description text NOT NULL)');
    const empty = await cli(['submit', '--job-type', 'review_sentiment', '--input', path]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain(
      'sentiment_labels is empty: fill the catalogue of job type review_sentiment',
    );
  });

  it('submit --job-type builds the declared requests, creates the batch and records its job type and ids', async () => {
    await pool.query(
      `INSERT INTO sentiment_labels VALUES ('positive', 'the reviewer is pleased'),
         ('negative', 'the reviewer   is unhappy'), ('neutral', 'neither')`,
    );
    const path = await input('reviews.jsonl', reviews);
    const outcome = await cli(['submit', '--job-type', 'review_sentiment', '--input', path]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const batch = submitted(outcome.stdout);
    expect(batch.requests).toBe(2);
    // The declaration's model wins over BATCHLINE_MODEL.
    expect(await getBatchLog(pool, batch.batchLogId)).toMatchObject({
      jobType: 'review_sentiment',
      model: 'gpt-4o-mini',
      totalSentences: 2,
      status: 1,
    });
    expect(emulator.batch(batch.providerBatchId)).toMatchObject({
      endpoint: '/v1/chat/completions',
      metadata: { job_type: 'review_sentiment', source: 'batchline' },
    });
    const lines = await uploadedRequests(batch.batchLogId);
    expect(lines.map((line) => line.custom_id)).toEqual(['sent-7', 'sent-3']);
    expect(lines[0]).toMatchObject({
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [
          {
            role: 'system',
            content:
              'Label the sentiment of the review. Labels:\nnegative: the reviewer is unhappy\nneutral: neither\npositive: the reviewer is pleased',
          },
          { role: 'user', content: 'Loved it' },
        ],
        response_format: {
          type: 'json_schema',
          json_schema: { strict: true, schema: { required: ['label', 'score'] } },
        },
      },
    });
    const recorded = await loadRequestCustomIds(pool, batch.batchLogId, 'sent');
    expect([...recorded!]).toEqual(['sent-7', 'sent-3']);

    // --model wins over the declaration.
    const chosen = await cli([
      'submit',
      '--job-type',
      'review_sentiment',
      '--input',
      path,
      '--model',
      'gpt-x',
    ]);
    expect(await getBatchLog(pool, submitted(chosen.stdout).batchLogId)).toMatchObject({ model: 'gpt-x' });
  });

  it('string ids: submitted as declared, recorded as strings; the configured model when the declaration has none', async () => {
    const path = await input('docs.jsonl', [
      { doc_id: 'doc.A-1', title: 'Trains', body: 'Late again', extra: 1 },
      '',
      { doc_id: 'doc_2', title: 'Food', body: 'Tasty' },
    ]);
    const outcome = await cli(['submit', '--job-type', 'doc_topics', '--input', path]);
    expect(outcome.code, outcome.stderr).toBe(0);
    const batch = submitted(outcome.stdout);
    expect(await getBatchLog(pool, batch.batchLogId)).toMatchObject({
      jobType: 'doc_topics',
      model: 'gpt-configured',
    });
    const lines = await uploadedRequests(batch.batchLogId);
    expect(lines.map((line) => line.custom_id)).toEqual(['doc-doc.A-1', 'doc-doc_2']);
    expect(lines[0]).toMatchObject({
      body: { messages: [{ role: 'user', content: 'Topics of "Trains": Late again' }] },
    });
    const recorded = await loadRequestCustomIds(pool, batch.batchLogId, 'doc');
    expect([...recorded!]).toEqual(['doc-doc.A-1', 'doc-doc_2']);
  });

  it('refuses the whole file on a malformed or repeated id or a missing field, with the line number', async () => {
    const refused = async (name: string, lines: readonly unknown[], jobType = 'doc_topics') => {
      const path = await input(name, lines);
      const outcome = await cli(['submit', '--job-type', jobType, '--input', path]);
      expect(outcome.code).toBe(1);
      return outcome.stderr.trim().replace(`${path}:`, 'FILE:');
    };
    const doc = (doc_id: unknown) => ({ doc_id, title: 't', body: 'b' });
    expect(await refused('spaces.jsonl', [doc('ok'), doc('not ok')])).toBe(
      'batchline: FILE:2: "doc_id" must be a string of 1-64 characters from A-Z a-z 0-9 _ . -',
    );
    expect(await refused('long.jsonl', [doc('x'.repeat(65))])).toContain('FILE:1: "doc_id" must be');
    expect(await refused('repeat.jsonl', [doc('a'), doc('b'), '', doc('a')])).toBe(
      'batchline: FILE:4: duplicate doc_id a (first on line 1)',
    );
    expect(await refused('no-body.jsonl', [doc('a'), { doc_id: 'b', title: 't' }])).toBe(
      'batchline: FILE:2: "body" must be a non-empty string',
    );
    expect(await refused('float.jsonl', [{ review_id: 1.5, text: 'x' }], 'review_sentiment')).toBe(
      'batchline: FILE:1: "review_id" must be a positive integer',
    );
    expect(await refused('text-id.jsonl', [{ review_id: '12', text: 'x' }], 'review_sentiment')).toBe(
      'batchline: FILE:1: "review_id" must be a positive integer',
    );
    const { rows } = await pool.query(
      "SELECT count(*)::int AS n FROM batch_jobs_vp_logs WHERE job_type = 'doc_topics'",
    );
    expect(rows[0].n).toBe(1);
  });

  it('an unknown --job-type, or embeddings for Anthropic, is a usage error, exit 2', async () => {
    const path = await input('vectors.jsonl', [{ doc_id: 'a', body: 'text' }]);
    const unknown = await cli(['submit', '--job-type', 'no_such_type', '--input', path]);
    expect(unknown.code).toBe(2);
    for (const name of [
      'no_such_type',
      'specific_viewpoint',
      'review_sentiment',
      'doc_topics',
      'doc_vectors',
    ])
      expect(unknown.stderr).toContain(name);
    const anthropic = await cli([
      'submit',
      '--job-type',
      'doc_vectors',
      '--provider',
      'anthropic',
      '--input',
      path,
    ]);
    expect(anthropic.code).toBe(2);
    expect(anthropic.stderr.trim()).toBe(
      'batchline: job type doc_vectors asks for embeddings (/v1/embeddings), which Anthropic does not offer: use --provider openai',
    );
    expect((await cli(['track', 'batch_x', '--job-type', 'nope'])).code).toBe(2);
  });

  it('the shipped examples: migrate creates their tables, the sample input of review_sentiment submits', async () => {
    const examples = { BATCHLINE_JOB_TYPES: EXAMPLES };
    await pool.query(await readFile(join(EXAMPLES, 'sentiment_labels.sql'), 'utf8'));
    const migrated = await cli(['migrate'], examples);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(migrated.stdout).toContain('created table review_embeddings for job type review_embeddings\n');
    const sample = join(EXAMPLES, 'review_sentiment.jsonl');
    const outcome = await cli(['submit', '--job-type', 'review_sentiment', '--input', sample], examples);
    expect(outcome.code, outcome.stderr).toBe(0);
    const batch = submitted(outcome.stdout);
    const sampleIds = (await readFile(sample, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => `sent-${(JSON.parse(line) as { review_id: number }).review_id}`);
    expect(batch.requests).toBe(sampleIds.length);
    expect((await uploadedRequests(batch.batchLogId)).map((line) => line.custom_id)).toEqual(sampleIds);
  });

  it('track --job-type records the job type of the adopted batch', async () => {
    const path = join(dir, 'elsewhere.jsonl');
    await writeFile(
      path,
      `${JSON.stringify({ custom_id: 'sent-1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] } })}\n`,
    );
    const provider = createOpenAIProvider({ apiKey: TEST_OPENAI_KEY, baseURL: emulator.baseUrl });
    const created = await provider.uploadAndCreateBatch({
      inputPath: path,
      endpoint: '/v1/chat/completions',
    });
    const outcome = await cli(['track', created.id, '--job-type', 'review_sentiment']);
    expect(outcome.code, outcome.stderr).toBe(0);
    const [, id, batchJobId] = /^batch log (\d+)\nbatch job (\d+)$/.exec(outcome.stdout.trim())!.map(Number);
    expect(await getBatchLog(pool, id!)).toMatchObject({
      jobType: 'review_sentiment',
      batchId: created.id,
      batchJobId,
      partIndex: 0,
      retryRound: 0,
    });
    // Adopted: a job of one part, its total from the provider's request counts, with the default retry policy.
    expect(await getBatchJob(pool, batchJobId!)).toMatchObject({
      origin: 'track',
      jobType: 'review_sentiment',
      totalRequests: 1,
      retryPolicy: { maxRounds: 3, delayMs: 60_000 },
    });
    const again = await cli(['track', created.id, '--job-type', 'review_sentiment']);
    expect(again.stdout.trim()).toBe(`batch log ${id} (already tracked)`);
    const { rows } = await pool.query("SELECT count(*)::int AS jobs FROM batch_jobs WHERE origin = 'track'");
    expect(rows[0].jobs).toBe(1);
  });
});
