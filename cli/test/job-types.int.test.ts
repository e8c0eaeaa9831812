import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool, readExistingTable } from '@batchline/db';
import { createLogger } from '@batchline/logging';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOC_TOPICS, REVIEW_SENTIMENT_YAML, writeDeclarations } from './declarations.ts';
import { runCli } from './support.ts';

describe('batchline job-types and migrate with declared job types', () => {
  let db: TestDatabase;
  let pool: Pool;
  let dir: string;
  let declarations: string;
  let env: NodeJS.ProcessEnv;
  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(args, { ...env, ...extraEnv });

  beforeAll(async () => {
    db = await createTestDatabase('cli_job_types');
    dir = await mkdtemp(join(tmpdir(), 'batchline-job-types-'));
    declarations = await writeDeclarations(join(dir, 'job-types'));
    env = { PATH: process.env.PATH, DATABASE_URL: db.url, BATCHLINE_JOB_TYPES: declarations };
    pool = createPool({
      connectionString: db.url,
      log: createLogger({ service: 'cli-test', level: 'silent' }),
      applicationName: 'cli-job-types-test',
    });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('job-types lists the built-in and the declared job types with endpoint, target table and source', async () => {
    const outcome = await cli(['job-types']);
    expect(outcome).toMatchObject({ code: 0, stderr: '' });
    const rows = outcome.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^name\s+endpoint\s+target table\s+source$/);
    const row = (name: string) => rows.find((line) => line.startsWith(`${name} `))?.split(/\s{2,}/);
    expect(row('specific_viewpoint')?.slice(1, 3)).toEqual([
      '/v1/chat/completions',
      'review_sentences_wl_spec_vp',
    ]);
    expect(row('review_sentiment')).toEqual([
      'review_sentiment',
      '/v1/chat/completions',
      'review_sentiments',
      join(declarations, 'review_sentiment.yaml'),
    ]);
    expect(row('doc_topics')?.slice(1, 4)).toEqual([
      '/v1/chat/completions',
      'doc_topics',
      join(declarations, 'doc_topics.json'),
    ]);
    expect(row('doc_vectors')?.slice(1, 3)).toEqual(['/v1/embeddings', 'doc_vectors']);
    // Without BATCHLINE_JOB_TYPES only the built-in one is in force.
    const builtIn = await cli(['job-types'], { BATCHLINE_JOB_TYPES: undefined });
    expect(builtIn.stdout.trim().split('\n').slice(2)).toHaveLength(1);
    expect(builtIn.stdout).toContain('specific_viewpoint');
    const json = await cli(['job-types', '--json']);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toContainEqual({
      name: 'review_sentiment',
      endpoint: '/v1/chat/completions',
      targetTable: 'review_sentiments',
      source: join(declarations, 'review_sentiment.yaml'),
    });
  });

  it('job-types --check FILE prints what a valid file declares', async () => {
    const file = join(declarations, 'review_sentiment.yaml');
    const outcome = await cli(['job-types', '--check', file], { BATCHLINE_JOB_TYPES: undefined });
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain(`${file}: 1 job type(s), valid`);
    expect(outcome.stdout).toMatch(/^review_sentiment\s+\/v1\/chat\/completions\s+review_sentiments\s/m);
  });

  it('job-types --check FILE names the file, the job type and the field of a bad declaration, exit 1', async () => {
    const file = join(dir, 'bad-type.yaml');
    await writeFile(file, REVIEW_SENTIMENT_YAML.replace('type: double precision', 'type: varchar'));
    const outcome = await cli(['job-types', '--check', file]);
    expect(outcome.code).toBe(1);
    const lines = outcome.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^batchline: /);
    for (const part of [file, 'review_sentiment', 'results.columns.score.type'])
      expect(lines[0]).toContain(part);
    expect(outcome.stdout).toBe('');

    const missing = await cli(['job-types', '--check', join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(join(dir, 'absent.yaml'));
  });

  it('a bad declaration in BATCHLINE_JOB_TYPES stops every command with one line, exit 1', async () => {
    const broken = join(dir, 'broken');
    await mkdir(broken);
    await writeFile(
      join(broken, 'doc_topics.json'),
      JSON.stringify({ ...DOC_TOPICS, results: { ...DOC_TOPICS.results, key: ['no_such_column'] } }),
    );
    for (const command of [['job-types'], ['status'], ['migrate']]) {
      const outcome = await cli(command, { BATCHLINE_JOB_TYPES: broken });
      expect(outcome.code).toBe(1);
      const lines = outcome.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(join(broken, 'doc_topics.json'));
      expect(lines[0]).toContain('doc_topics');
      expect(lines[0]).toContain('results.key');
      expect(lines[0]).not.toContain('unexpected error');
    }
    const unreadable = await cli(['job-types'], { BATCHLINE_JOB_TYPES: join(dir, 'nowhere') });
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toContain(join(dir, 'nowhere'));
  });

  it('migrate creates each declared target table, then finds them fit', async () => {
    const first = await cli(['migrate']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied 0001_init/);
    for (const [table, jobType] of [
      ['review_sentiments', 'review_sentiment'],
      ['doc_topics', 'doc_topics'],
      ['doc_vectors', 'doc_vectors'],
    ])
      expect(first.stdout).toContain(`created table ${table} for job type ${jobType}\n`);
    expect(first.stdout).not.toContain('review_sentences_wl_spec_vp');

    const vectors = await readExistingTable(pool, '"doc_vectors"');
    expect(Object.fromEntries(vectors!.columns)).toMatchObject({ doc_id: 'text', embedding: 'real[]' });
    expect(vectors!.uniqueKeys).toContainEqual(['doc_id']);
    const topics = await readExistingTable(pool, '"doc_topics"');
    expect(topics!.uniqueKeys).toContainEqual(['doc_id', 'topic']);

    expect(await cli(['migrate'])).toMatchObject({ code: 0, stdout: 'schema is up to date\n' });
  });

  it('migrate refuses an existing table that does not fit, naming the job type, the table and each problem', async () => {
    await pool.query('CREATE TABLE hand_made_topics (doc_id bigint, batch_log_id bigint)');
    const clashing = join(dir, 'clashing');
    await mkdir(clashing);
    await writeFile(
      join(clashing, 'topics.json'),
      JSON.stringify({ ...DOC_TOPICS, results: { ...DOC_TOPICS.results, table: 'hand_made_topics' } }),
    );
    const outcome = await cli(['migrate'], { BATCHLINE_JOB_TYPES: clashing });
    expect(outcome.code).toBe(1);
    expect(outcome.stdout).toBe('schema is up to date\n');
    const lines = outcome.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const part of ['job type doc_topics', 'table hand_made_topics', 'topic', 'created_at', 'doc_id'])
      expect(lines[0]).toContain(part);
    expect(lines[0]).not.toContain('unexpected error');
    // Never a silent change: the table is as it was.
    const after = await readExistingTable(pool, '"hand_made_topics"');
    expect([...after!.columns.keys()]).toEqual(['doc_id', 'batch_log_id']);
  });
});
