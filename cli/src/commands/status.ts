import { parseDuration } from '@batchline/config';
import {
  type BatchLog,
  getBatchJob,
  getBatchLog,
  type ListFilters,
  listBatchJobs,
  listBatchLogs,
  listJobBatchLogs,
  type Pool,
  readBatchJobFigures,
  readBatchProgress,
} from '@batchline/db';
import { batchStatusName } from '@batchline/domain';
import { commandContext, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import {
  type BatchJson,
  batchJson,
  type JobJson,
  jobJson,
  jobLine,
  parseSince,
  parseStatusFilter,
  parseStatusTarget,
  type StatusTarget,
} from '../status-view.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';
import { watchStatus } from './status-watch.ts';

const estimateText = (batch: BatchJson): string => {
  if (batch.status !== 'pending') return '';
  if (batch.estimatedCompletionAt === null) return 'unknown';
  return `${batch.estimatedCompletionAt} (${batch.estimateBasis})`;
};

/** Where a batch stands in its job: `part 0`, `round 2`, or nothing for a batch outside a job. */
const placeText = (batch: BatchJson): string =>
  batch.jobId === null
    ? ''
    : batch.retryRound > 0
      ? `round ${batch.retryRound}`
      : `part ${batch.partIndex ?? 0}`;

function batchTable(batches: readonly BatchJson[]): string {
  return formatTable(
    [
      'batch log',
      'job',
      'place',
      'job type',
      'provider',
      'provider batch',
      'status',
      'provider status',
      'total',
      'processed',
      'failed',
      'created',
      'estimated completion',
    ],
    batches.map((batch) => [
      batch.id,
      batch.jobId === null ? '' : `job-${batch.jobId}`,
      placeText(batch),
      batch.jobType,
      batch.provider,
      batch.providerBatchId,
      batch.status,
      batch.providerStatus ?? '',
      batch.totalRequests,
      batch.processedRequests,
      batch.failedRequests,
      batch.createdAt,
      estimateText(batch),
    ]),
  );
}

function jobTable(jobs: readonly JobJson[]): string {
  return formatTable(
    [
      'job',
      'job type',
      'provider',
      'state',
      'outcome',
      'requests',
      'succeeded',
      'failed',
      'unresolved',
      'batches',
      'pending batches',
      'retry rounds',
      'created',
    ],
    jobs.map((job) => [
      `job-${job.id}`,
      job.jobType,
      job.provider,
      job.state,
      job.outcome ?? '',
      job.totalRequests,
      job.succeededRequests,
      job.failedRequests,
      job.unresolvedRequests,
      job.batches,
      job.pendingBatches,
      job.retryRounds,
      job.createdAt,
    ]),
  );
}

async function batchesJson(pool: Pool, batches: readonly BatchLog[]): Promise<BatchJson[]> {
  const progress = await readBatchProgress(
    pool,
    batches.map((batch) => batch.id),
  );
  return batches.map((batch) => batchJson(batch, progress.get(batch.id)));
}

/** The filtered batch logs and jobs: two tables (jobs after batches), or `{jobs, batches}` with --json. */
async function list(pool: Pool, filters: ListFilters, json: boolean, described: string): Promise<void> {
  const [batches, jobs] = await Promise.all([listBatchLogs(pool, filters), listBatchJobs(pool, filters)]);
  const figures = new Map(
    (
      await readBatchJobFigures(
        pool,
        jobs.map((job) => job.id),
      )
    ).map((f) => [f.batchJobId, f]),
  );
  const answer = {
    jobs: jobs.map((job) => jobJson(job, figures.get(job.id))),
    batches: await batchesJson(pool, batches),
  };
  if (json) {
    console.log(JSON.stringify(answer, null, 2));
    return;
  }
  // Nothing that matches may mean a misspelt filter: say so, rather than print a bare header.
  if (batches.length === 0 && jobs.length === 0 && described !== '') {
    console.error(`no batch logs or jobs match ${described}`);
    return;
  }
  console.log(batchTable(answer.batches));
  if (jobs.length > 0) console.log(`\n${jobTable(answer.jobs)}`);
}

/** One job: its figures and its batches, or `{job, batches}` with --json. */
async function showJob(pool: Pool, id: number, json: boolean): Promise<void> {
  const job = await getBatchJob(pool, id);
  if (!job) throw new CommandError(`job ${id} does not exist`);
  const [figures] = await readBatchJobFigures(pool, [id]);
  const answer = {
    job: jobJson(job, figures),
    batches: await batchesJson(pool, await listJobBatchLogs(pool, id)),
  };
  if (json) console.log(JSON.stringify(answer, null, 2));
  else console.log(`${jobLine(answer.job)}\n\n${batchTable(answer.batches)}`);
}

/** One batch log in detail: its row, with its status name and estimate (JSON, with or without --json). */
async function showBatch(pool: Pool, id: number): Promise<void> {
  const row = await getBatchLog(pool, id);
  if (!row) throw new CommandError(`batch log ${id} does not exist`);
  const estimate = (await readBatchProgress(pool, [id])).get(id)?.estimate ?? null;
  console.log(
    JSON.stringify(
      {
        ...row,
        statusName: batchStatusName(row.status),
        estimatedCompletionAt: estimate ? new Date(estimate.at).toISOString() : null,
        estimateBasis: estimate?.basis ?? null,
      },
      null,
      2,
    ),
  );
}

const FILTER_OPTIONS = ['job-type', 'status', 'since'] as const;

export const statusCommand: Command = {
  name: 'status',
  usage:
    'batchline status [BATCH_LOG_ID | job-N] [--status pending|completed|failed] [--job-type NAME] [--since DURATION|ISO] [--limit N] [--json] [--watch [--interval DURATION]]',
  summary:
    'a table of batch logs and jobs, or one batch log or job in detail; --watch follows their progress',
  details: [
    'Without an id: the latest batch logs (each with its job and its place in it: part N or retry round N), then the',
    'latest jobs with their figures (requests succeeded / failed / unresolved, counted once across retry rounds;',
    "batches, pending batches, retry rounds). Pending batches show their estimated completion: from the provider's",
    "request counts since it started, else from their job type's recent completed batches (unknown when neither tells).",
    '--status pending|completed|failed: batches by their status; jobs pending until finalized, completed when some',
    'request succeeded, failed when none did. --job-type NAME: that job type only. --since 2h|7d|2026-01-31T08:00Z:',
    'created since then. --limit N (1 to 1,000, default 50) applies to batches and jobs each.',
    'BATCH_LOG_ID: that batch log in detail (JSON). job-N: that job, its figures and batches.',
    '--json: the same as JSON (shapes in docs/interface.md): {jobs, batches}, {job, batches}, or the batch log.',
    "--watch [ID]: progress bars (requests done / total per batch, from the provider's request counts) redrawn every",
    '--interval (default 2s) until the job is finalized or the batch is final (exit 0); without an id, the batches',
    'pending when it starts. Without a terminal it prints a line per change instead. Ctrl-C stops it (exit 130).',
  ],
  options: {
    limit: { type: 'string', default: '50' },
    'job-type': { type: 'string' },
    status: { type: 'string' },
    since: { type: 'string' },
    json: { type: 'boolean' },
    watch: { type: 'boolean' },
    interval: { type: 'string' },
  },
  async run({ positionals, values }) {
    if (positionals.length > 1) throw new UsageError('status takes at most one batch log id or job id');
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new UsageError('--limit must be between 1 and 1000');
    const jobType = typeof values['job-type'] === 'string' ? values['job-type'].trim() : null;
    if (jobType === '') throw new UsageError('--job-type takes the name of a job type');
    const filters: ListFilters = {
      limit,
      jobType,
      status: typeof values.status === 'string' ? parseStatusFilter(values.status) : null,
      since: typeof values.since === 'string' ? parseSince(values.since, new Date()) : null,
    };
    const target: StatusTarget | null =
      positionals[0] === undefined ? null : parseStatusTarget(positionals[0]);
    const given = FILTER_OPTIONS.filter((name) => values[name] !== undefined);
    if ((target !== null || values.watch) && given.length > 0)
      throw new UsageError(
        `--${given[0]} filters the table; it does not apply to one batch log, a job or --watch`,
      );
    if (values.watch && values.json) throw new UsageError('--watch draws progress; it does not take --json');
    if (values.interval !== undefined && !values.watch) throw new UsageError('--interval goes with --watch');
    const intervalMs = values.interval === undefined ? 2000 : parseDuration(String(values.interval));
    if (intervalMs === null || intervalMs < 100)
      throw new UsageError('--interval takes a duration of at least 100ms (e.g. 2s)');
    const json = values.json === true;
    const described = given.map((name) => `--${name} ${values[name]}`).join(' ');

    const context = commandContext(true);
    await withDatabase(context, async (pool) => {
      if (values.watch) return watchStatus(pool, target, intervalMs);
      if (target === null) return list(pool, filters, json, described);
      return 'job' in target ? showJob(pool, target.job, json) : showBatch(pool, target.batchLog);
    });
  },
};
