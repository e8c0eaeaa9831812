import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, getBatchLog, type Pool } from '@batchline/db';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './support.ts';

describe('batchline CLI', () => {
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const cli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCli(args, { ...env, ...extraEnv });

  beforeAll(async () => {
    db = await createTestDatabase('cli');
    emulator = await startEmulator();
    dir = await mkdtemp(join(tmpdir(), 'batchline-cli-'));
    env = cliEnv(db.url, emulator);
    pool = createPool({
      connectionString: db.url,
      log: createLogger({ service: 'cli-test', level: 'silent' }),
      applicationName: 'cli-test',
    });
  });

  afterAll(async () => {
    await pool?.end();
    await emulator?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('migrate applies the schema once and is safe to run again', async () => {
    const first = await cli(['migrate']);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/^applied 0001_init/);
    const second = await cli(['migrate']);
    expect(second).toMatchObject({ code: 0, stdout: 'schema is up to date\n' });
  });

  it('submit refuses a duplicate review_sentence_id, naming both lines', async () => {
    const input = join(dir, 'dupes.jsonl');
    await writeFile(
      input,
      '{"review_sentence_id": 1, "text": "Battery life is great"}\n\n{"review_sentence_id": 1, "text": "again"}\n',
    );
    const outcome = await cli(['submit', '--input', input]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr.trim()).toBe(
      `batchline: ${input}:3: duplicate review_sentence_id 1 (first on line 1)`,
    );
  });

  it('submit refuses a bad line with its location', async () => {
    const input = join(dir, 'bad.jsonl');
    await writeFile(input, '{"review_sentence_id": -4, "text": "x"}\n');
    const outcome = await cli(['submit', '--input', input]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain(`${input}:1: "review_sentence_id" must be a positive integer`);
  });

  it('submit needs a viewpoint catalogue', async () => {
    const input = join(dir, 'one.jsonl');
    await writeFile(input, '{"review_sentence_id": 1, "text": "Battery life is great"}\n');
    const outcome = await cli(['submit', '--input', input]);
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toContain('wl_spec_vps is empty');
  });

  it('submit uploads, creates the batch and records a pending batch log; status shows it', async () => {
    await pool.query("INSERT INTO wl_spec_vps (id, name) VALUES (1, 'battery life'), (2, 'delivery speed')");
    const input = join(dir, 'good.jsonl');
    await writeFile(
      input,
      [
        '{"review_sentence_id": 11, "text": "Battery life is great"}',
        '{"review_sentence_id": 12, "text": "Delivery speed was slow"}',
      ].join('\n'),
    );
    const outcome = await cli(['submit', '--input', input, '--model', 'gpt-4o-mini']);
    expect(outcome.code).toBe(0);
    const match = /^batch log (\d+)\tprovider batch (batch_\w+)\t2 requests$/m.exec(outcome.stdout);
    expect(match).not.toBeNull();
    const row = await getBatchLog(pool, Number(match![1]));
    expect(row).toMatchObject({
      status: 1,
      batchId: match![2],
      provider: 'openai',
      totalSentences: 2,
      model: 'gpt-4o-mini',
      jobType: 'specific_viewpoint',
    });
    expect(emulator.batch(match![2]!)).toBeDefined();
    // The job's id on its own line after the batch lines.
    const job = /^batch job (\d+)\t2 requests\t1 batches$/m.exec(outcome.stdout);
    expect(job, outcome.stdout).not.toBeNull();
    expect(row).toMatchObject({ batchJobId: Number(job![1]), partIndex: 0, retryRound: 0 });

    const table = await cli(['status']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(match![2]);
    const detail = await cli(['status', match![1]!]);
    expect(JSON.parse(detail.stdout)).toMatchObject({ id: Number(match![1]), statusName: 'pending' });

    // Adopting the same provider batch again returns the same batch log.
    const tracked = await cli(['track', match![2]!]);
    expect(tracked.stdout.trim()).toBe(`batch log ${match![1]} (already tracked)`);
  });

  it('submit without an API key is one line naming the variable, and nothing is recorded', async () => {
    const before = await pool.query('SELECT count(*)::int AS n FROM batch_jobs_vp_logs');
    const input = join(dir, 'no-key.jsonl');
    await writeFile(input, '{"review_sentence_id": 21, "text": "Battery life is great"}\n');
    const outcome = await cli(['submit', '--input', input], { OPENAI_API_KEY: '' });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^batchline: OpenAI client not configured: .*OPENAI_API_KEY/);
    expect(outcome.stderr).not.toContain('unexpected error');
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    const after = await pool.query('SELECT count(*)::int AS n FROM batch_jobs_vp_logs');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('poll --resume-provider ends a provider pause for every poller, then checks', async () => {
    // The pause a poller records when the provider refuses its key (it ends only with a probe, or this).
    await pool.query(
      `INSERT INTO provider_pauses (provider, kind, needs_probe, paused_until, reason)
       VALUES ('openai', 'auth', true, now() + interval '1 hour', 'getBatch failed: 401 Incorrect API key provided')`,
    );
    const resumed = await cli(['poll', '--resume-provider', 'openai']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(
      /^openai: pause ended \(auth since .+, 0 probe\(s\)\): getBatch failed: 401/m,
    );
    expect(resumed.stdout).toMatch(/^checked \d+ batch\(es\)/m);
    const livePause = await pool.query(
      `SELECT * FROM provider_pauses WHERE provider = 'openai' AND (needs_probe OR paused_until > now())`,
    );
    expect(livePause.rows[0] ?? null).toBeNull();
    expect((await cli(['poll', '--resume-provider', 'openai'])).stdout).toMatch(/^openai: was not paused$/m);
    const bad = await cli(['poll', '--resume-provider', 'azure']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--resume-provider takes openai or anthropic, not azure');
  });

  it('a bad variable is one line naming it, exit 1', async () => {
    const outcome = await cli(['status'], { POLL_SCHEDULE: '1m,soon' });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toBe(
      'batchline: POLL_SCHEDULE: "soon" is not a positive duration. Use comma-separated durations such as 1m,2m,5m (the last one repeats).\n',
    );
  });

  it('an unreachable database is one line, without the password', async () => {
    const outcome = await cli(['status'], { DATABASE_URL: 'postgres://u:hunter2secret@127.0.0.1:1/nope' });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^batchline: cannot reach Postgres at 127\.0\.0\.1:1\/nope: /);
    expect(outcome.stderr).not.toContain('hunter2secret');
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('bad arguments are usage errors, exit 2; --help answers', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['run'])).code).toBe(2);
    expect((await cli(['status', 'abc'])).code).toBe(2);
    expect((await cli(['submit', '--bogus'])).code).toBe(2);
    const help = await cli(['track', '--help']);
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain('usage: batchline track PROVIDER_BATCH_ID');
  });
});
