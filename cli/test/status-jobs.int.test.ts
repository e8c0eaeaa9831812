import { insertBatchJob, insertBatchLog } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { type MigratedTestDatabase, migratedTestDatabase, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli, startCli } from './support.ts';

/** `batchline status` and jobs: filters, `--json` shapes, one job in detail, and `--watch`. */
describe('batchline status with jobs', () => {
  let db: MigratedTestDatabase;
  let batchCount = 0;
  const status = (...args: string[]) => runCli(['status', ...args], cliEnv(db.url));
  const json = async (...args: string[]) => {
    const outcome = await status(...args, '--json');
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    return JSON.parse(outcome.stdout);
  };

  /** A batch of `job` (part or retry round), with a result per custom_id: true succeeded, false failed. */
  async function batch(
    job: {
      batchJobId: number;
      partIndex: number | null;
      parentBatchLogId: number | null;
      retryRound: number;
    } | null,
    results: Record<string, boolean>,
  ): Promise<number> {
    batchCount += 1;
    const { id } = await insertBatchLog(db.pool, {
      provider: 'openai',
      batchId: `batch_status_jobs_${batchCount}`,
      model: 'gpt-4o-mini',
      totalSentences: Object.keys(results).length,
      inputFileId: null,
      firstPollDelayMs: 3_600_000,
      ...(job && { job }),
    });
    for (const [customId, succeeded] of Object.entries(results)) {
      await db.pool.query(
        `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code) VALUES ($1, $2, $3, $4)`,
        [id, customId, succeeded ? 'succeeded' : 'failed', succeeded ? null : 'http_500'],
      );
    }
    return id;
  }

  const setStatus = (id: number, status: number) =>
    db.pool.query('UPDATE batch_jobs_vp_logs SET status = $2 WHERE id = $1', [id, status]);

  let running: number;
  let parts: number[];
  let round: number;
  let old: number;
  let oldBatch: number;
  let loose: number;

  beforeAll(async () => {
    db = await migratedTestDatabase('cli_status_jobs');
    // Two parts; part 1's failure retried (round 1) and landed; part 0's failure not retried yet.
    running = await insertBatchJob(db.pool, {
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-4o-mini',
      origin: 'submit',
      totalRequests: 5,
    });
    parts = [
      await batch(
        { batchJobId: running, partIndex: 0, parentBatchLogId: null, retryRound: 0 },
        { 'rs-1': true, 'rs-2': false },
      ),
      await batch(
        { batchJobId: running, partIndex: 1, parentBatchLogId: null, retryRound: 0 },
        { 'rs-3': true, 'rs-4': false },
      ),
    ];
    round = await batch(
      { batchJobId: running, partIndex: null, parentBatchLogId: parts[1]!, retryRound: 1 },
      {},
    );
    await db.pool.query(
      `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome) VALUES ($1, 'rs-4', 'succeeded')`,
      [round],
    );
    for (const id of parts) {
      await db.pool.query(
        'UPDATE batch_jobs_vp_logs SET processed_sentences = 1, failed_sentences = 1 WHERE id = $1',
        [id],
      );
      await setStatus(id, BatchStatus.completed);
    }
    // A job that failed three days ago.
    old = await insertBatchJob(db.pool, {
      jobType: 'review_sentiment',
      provider: 'openai',
      model: 'gpt-4o-mini',
      origin: 'track',
      totalRequests: 1,
    });
    oldBatch = await batch(
      { batchJobId: old, partIndex: 0, parentBatchLogId: null, retryRound: 0 },
      { 'rs-9': false },
    );
    await setStatus(oldBatch, BatchStatus.failed);
    await db.pool.query(
      `UPDATE batch_jobs SET outcome = 'failed', finalized_at = now(), created_at = now() - interval '3 days' WHERE id = $1`,
      [old],
    );
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET job_type = 'review_sentiment', created_at = now() - interval '3 days' WHERE id = $1`,
      [oldBatch],
    );
    // A batch outside any job (recorded before jobs existed).
    loose = await batch(null, {});
  });
  afterAll(async () => {
    await db?.close();
  });

  it('lists batches with their job and jobs with their figures, as JSON', async () => {
    const answer = await json();
    expect(answer.jobs.map((job: { id: number }) => job.id)).toEqual([running, old]);
    const job = answer.jobs.find((j: { id: number }) => j.id === running);
    expect(job).toEqual({
      id: running,
      jobType: 'specific_viewpoint',
      provider: 'openai',
      model: 'gpt-4o-mini',
      origin: 'submit',
      state: 'pending',
      outcome: null,
      totalRequests: 5,
      succeededRequests: 3,
      failedRequests: 1,
      unresolvedRequests: 1,
      batches: 3,
      pendingBatches: 1,
      retryRounds: 1,
      createdAt: expect.any(String),
      finalizedAt: null,
    });
    const shown = Object.fromEntries(answer.batches.map((b: { id: number }) => [b.id, b]));
    expect(shown[round]).toEqual({
      id: round,
      jobId: running,
      partIndex: null,
      retryRound: 1,
      parentBatchLogId: parts[1],
      jobType: 'specific_viewpoint',
      provider: 'openai',
      providerBatchId: expect.stringMatching(/^batch_status_jobs_/),
      status: 'pending',
      providerStatus: null,
      totalRequests: 0,
      processedRequests: 0,
      failedRequests: 0,
      progress: { done: 0, total: 0 },
      createdAt: expect.any(String),
      estimatedCompletionAt: null,
      estimateBasis: null,
    });
    expect(shown[loose]).toMatchObject({ jobId: null, partIndex: null, retryRound: 0 });
  });

  it('filters by status, job type and creation time', async () => {
    const ids = (answer: { jobs: { id: number }[]; batches: { id: number }[] }) => ({
      jobs: answer.jobs.map((j) => j.id).sort(),
      batches: answer.batches.map((b) => b.id).sort(),
    });
    expect(ids(await json('--status', 'failed'))).toEqual({ jobs: [old], batches: [oldBatch] });
    expect(ids(await json('--status', 'pending'))).toEqual({
      jobs: [running],
      batches: [round, loose].sort(),
    });
    expect(ids(await json('--status', 'completed'))).toEqual({ jobs: [], batches: parts.slice().sort() });
    expect(ids(await json('--job-type', 'review_sentiment'))).toEqual({ jobs: [old], batches: [oldBatch] });
    expect(ids(await json('--since', '1d')).jobs).toEqual([running]);
    const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
    expect(ids(await json('--since', weekAgo)).jobs).toEqual([old, running].sort());
    const none = await status('--status', 'failed', '--since', '1h');
    expect(none).toEqual({
      code: 0,
      stdout: '',
      stderr: 'no batch logs or jobs match --status failed --since 1h\n',
    });
  });

  it('refuses bad filters in one line', async () => {
    for (const [args, message] of [
      [['--status', 'done'], '--status takes pending, completed, failed, not "done"'],
      [
        ['--since', 'yesterday'],
        '--since takes a duration (30m, 2h, 7d) or an ISO date or time, not "yesterday"',
      ],
      [['job-x'], 'not a batch log id or job id (job-N): job-x'],
      [
        [`job-${running}`, '--status', 'pending'],
        '--status filters the table; it does not apply to one batch log, a job or --watch',
      ],
    ] as const) {
      expect(await status(...args)).toEqual({ code: 2, stdout: '', stderr: `batchline: ${message}\n` });
    }
  });

  it('shows one job with its batches', async () => {
    const text = await status(`job-${running}`);
    expect(text.code).toBe(0);
    const [line, , header, , ...rows] = text.stdout.trimEnd().split('\n');
    expect(line).toBe(
      `job-${running} specific_viewpoint (openai) pending: 3 succeeded, 1 failed, 1 unresolved of 5 requests; 3 batches (1 pending), 1 retry rounds`,
    );
    expect(header).toMatch(/^batch log +job +place +job type/);
    expect(rows.map((row) => row.split(/ {2,}/).slice(0, 3))).toEqual([
      [String(parts[0]), `job-${running}`, 'part 0'],
      [String(parts[1]), `job-${running}`, 'part 1'],
      [String(round), `job-${running}`, 'round 1'],
    ]);
    const answer = await json(`job-${running}`);
    expect(answer.job).toMatchObject({ id: running, succeededRequests: 3, retryRounds: 1 });
    expect(answer.batches.map((b: { id: number }) => b.id)).toEqual([...parts, round]);
    expect(await status('job-999999')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'batchline: job 999999 does not exist\n',
    });
  });

  it('--watch follows a job line by line until it is finalized', async () => {
    const watch = startCli(['status', '--watch', `job-${running}`, '--interval', '100ms'], cliEnv(db.url));
    await waitFor('the first frame', () => watch.stdout().includes(`batch log ${round} round 1`));
    expect(watch.stdout()).toContain(`batch log ${parts[0]} part 0  [####################] 2/2  completed`);
    expect(watch.stdout()).toContain(`batch log ${round} round 1  [--------------------] 0/0  pending`);
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET provider_status = 'in_progress',
         request_counts = '{"total": 4, "completed": 1, "failed": 0}' WHERE id = $1`,
      [round],
    );
    await waitFor('the changed line', () =>
      watch
        .stdout()
        .includes(`batch log ${round} round 1  [#####---------------] 1/4  pending (in_progress)`),
    );
    await setStatus(round, BatchStatus.completed);
    await db.pool.query(
      `UPDATE batch_jobs SET outcome = 'partially_succeeded', finalized_at = now() WHERE id = $1`,
      [running],
    );
    expect(await watch.exited).toBe(0);
    expect(watch.stderr()).toBe('');
    const lines = watch.stdout().trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`job-${running} ended: partially_succeeded`);
    // A line per change: the part lines, which never changed, were printed once.
    expect(lines.filter((line) => line.startsWith(`batch log ${parts[0]} `))).toHaveLength(1);
  });

  it('--watch stops cleanly on Ctrl-C, and follows one batch until it is final', async () => {
    const interrupted = startCli(['status', '--watch', String(loose), '--interval', '100ms'], cliEnv(db.url));
    await waitFor('the first frame', () => interrupted.stdout().includes(`batch log ${loose}  [`));
    interrupted.child.kill('SIGINT');
    expect(await interrupted.exited).toBe(130);
    expect(interrupted.stderr()).toBe('');

    const watch = startCli(['status', '--watch', String(loose), '--interval', '100ms'], cliEnv(db.url));
    await waitFor('the first frame', () => watch.stdout().includes(`batch log ${loose}  [`));
    await setStatus(loose, BatchStatus.failed);
    expect(await watch.exited).toBe(0);
    expect(watch.stdout().trimEnd().split('\n').at(-1)).toBe(`batch log ${loose} ended: failed`);
  });

  it('--watch without an id follows the batches pending when it starts, and says when there are none', async () => {
    const fresh = await batch(null, { 'rs-20': true });
    const watch = startCli(['status', '--watch', '--interval', '100ms'], cliEnv(db.url));
    await waitFor('the first frame', () => watch.stdout().includes(`batch log ${fresh}  [`));
    expect(watch.stdout()).not.toContain(`batch log ${loose} `);
    await setStatus(fresh, BatchStatus.completed);
    expect(await watch.exited).toBe(0);
    expect(watch.stdout().trimEnd().split('\n').at(-1)).toBe(`batch log ${fresh} ended: completed`);
    expect(await status('--watch')).toEqual({ code: 0, stdout: 'no pending batches to watch\n', stderr: '' });
  });
});
