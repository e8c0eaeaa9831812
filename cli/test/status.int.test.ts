import { insertBatchLog } from '@batchline/db';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from './support.ts';

describe('batchline status with job types', () => {
  let db: MigratedTestDatabase;
  const ids: Record<string, number> = {};

  /** `batchline status ARGS`: exit code, stdout and stderr. */
  const status = (...args: string[]) => runCli(['status', ...args], cliEnv(db.url));

  beforeAll(async () => {
    db = await migratedTestDatabase('cli_status');
    for (const jobType of [undefined, 'review_sentiment', 'review_embeddings']) {
      const { id } = await insertBatchLog(db.pool, {
        provider: 'openai',
        batchId: `batch_status_${jobType ?? 'default'}_${process.pid}`,
        model: 'gpt-4o-mini',
        jobType,
        totalSentences: 3,
        inputFileId: 'file-in',
        firstPollDelayMs: 60_000,
      });
      ids[jobType ?? 'specific_viewpoint'] = id;
    }
  });
  afterAll(async () => {
    await db?.close();
  });

  /** The table's rows as column → cell, by its header line. */
  const parseTable = (stdout: string) => {
    const [header, , ...lines] = stdout.trimEnd().split('\n');
    const starts = [...header!.matchAll(/\S+(?: \S+)*/g)].map((match) => match.index!);
    const cells = (line: string) => starts.map((start, i) => line.slice(start, starts[i + 1]).trim());
    const names = cells(header!);
    return lines.map((line) => Object.fromEntries(cells(line).map((cell, i) => [names[i], cell])));
  };

  it('shows the job type of every batch log', async () => {
    const outcome = await status();
    expect(outcome.code).toBe(0);
    const rows = parseTable(outcome.stdout);
    expect(rows.map((row) => [Number(row['batch log']), row['job type']]).sort()).toEqual(
      Object.entries(ids)
        .map(([jobType, id]) => [id, jobType])
        .sort(),
    );
    expect(rows.every((row) => row.status === 'pending' && row.provider === 'openai')).toBe(true);
  });

  it('lists only one job type with --job-type, and says so when there is none of it', async () => {
    const outcome = await status('--job-type', 'review_sentiment');
    expect(outcome.code).toBe(0);
    expect(parseTable(outcome.stdout).map((row) => [row['batch log'], row['job type']])).toEqual([
      [String(ids.review_sentiment), 'review_sentiment'],
    ]);
    const none = await status('--job-type', 'review_sentimnet');
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toBe('no batch logs or jobs match --job-type review_sentimnet\n');
  });

  it('shows the job type of one batch log, and refuses --job-type with a batch log id', async () => {
    const detail = await status(String(ids.review_embeddings));
    expect(JSON.parse(detail.stdout)).toMatchObject({
      id: ids.review_embeddings,
      jobType: 'review_embeddings',
    });
    const refused = await status(String(ids.review_embeddings), '--job-type', 'review_embeddings');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--job-type filters the table');
    expect((await status('--job-type', ' ')).code).toBe(2);
  });

  it('shows each pending batch its estimated completion, and what it rests on', async () => {
    // Started 20 minutes ago, half done at the check 10 minutes ago: done about now.
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET provider_status = 'in_progress', provider_started_at = now() - interval '20 minutes',
         last_checked_at = now() - interval '10 minutes',
         request_counts = '{"total": 4, "completed": 2, "failed": 0}' WHERE id = $1`,
      [ids.review_sentiment],
    );
    const rows = parseTable((await status()).stdout);
    const cell = (id: number) =>
      rows.find((row) => Number(row['batch log']) === id)!['estimated completion']!;
    const [at, basis] = cell(ids.review_sentiment!).split(' ');
    expect(basis).toBe('(progress)');
    expect(Math.abs(Date.parse(at!) - Date.now())).toBeLessThan(60_000);
    // No counts and no completed batch of its job type to go by.
    expect(cell(ids.review_embeddings!)).toBe('unknown');
    const detail = JSON.parse((await status(String(ids.review_sentiment))).stdout);
    expect(detail).toMatchObject({ estimateBasis: 'progress' });
    expect(Math.abs(Date.parse(detail.estimatedCompletionAt) - Date.parse(at!))).toBeLessThan(60_000);
  });
});
