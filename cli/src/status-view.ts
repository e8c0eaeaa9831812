import { parseDuration } from '@batchline/config';
import type { BatchJob, BatchJobFigures, BatchLog, BatchProgress, StatusFilter } from '@batchline/db';
import { BatchStatus, batchStatusName } from '@batchline/domain';
import { UsageError } from './errors.ts';

/** What `status` reads and shows, as plain functions: its filters, its JSON shapes, its progress bars. */

export const STATUS_FILTERS: readonly StatusFilter[] = ['pending', 'completed', 'failed'];

export function parseStatusFilter(text: string): StatusFilter {
  if ((STATUS_FILTERS as readonly string[]).includes(text)) return text as StatusFilter;
  throw new UsageError(`--status takes ${STATUS_FILTERS.join(', ')}, not "${text}"`);
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** `--since`: a duration back from `now` (`90m`, `2h`, `7d`) or an ISO 8601 date or time (UTC unless it says). */
export function parseSince(text: string, now: Date): Date {
  const ms = parseDuration(text);
  if (ms !== null) return new Date(now.getTime() - ms);
  if (ISO_DATE.test(text)) {
    const dateOnly = text.length === 10;
    const zoned = dateOnly || /(?:Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`;
    const at = new Date(dateOnly ? `${zoned}T00:00:00Z` : zoned);
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new UsageError(`--since takes a duration (30m, 2h, 7d) or an ISO date or time, not "${text}"`);
}

/** What `status ID` names: a batch log (`12`) or a job (`job-45`). */
export type StatusTarget = { job: number } | { batchLog: number };

export function parseStatusTarget(text: string): StatusTarget {
  const match = /^(job-?)?([1-9][0-9]{0,14})$/.exec(text);
  if (!match) throw new UsageError(`not a batch log id or job id (job-N): ${text}`);
  const id = Number(match[2]);
  return match[1] ? { job: id } : { batchLog: id };
}

/** A job's state as `--status` reads it: pending until it is finalized, then by its outcome. */
export const jobState = (job: BatchJob): StatusFilter =>
  job.outcome === null ? 'pending' : job.outcome === 'failed' ? 'failed' : 'completed';

/** A job as `--json` shows it: its row and its figures, counted as the admin API counts them. */
export function jobJson(job: BatchJob, figures: BatchJobFigures | undefined) {
  return {
    id: job.id,
    jobType: job.jobType,
    provider: job.provider,
    model: job.model,
    origin: job.origin,
    state: jobState(job),
    outcome: job.outcome,
    totalRequests: job.totalRequests,
    succeededRequests: figures?.succeededRequests ?? 0,
    failedRequests: figures?.failedRequests ?? 0,
    unresolvedRequests: figures?.unresolvedRequests ?? job.totalRequests,
    batches: figures?.batches ?? 0,
    pendingBatches: figures?.pendingBatches ?? 0,
    retryRounds: figures?.retryRounds ?? 0,
    createdAt: job.createdAt.toISOString(),
    finalizedAt: job.finalizedAt?.toISOString() ?? null,
  };
}
export type JobJson = ReturnType<typeof jobJson>;

/**
 * A batch's requests done and in all: the provider's request counts (recorded by the poller) while it has them,
 * else what landed once the batch is final, else none done of the requests submitted.
 */
export function batchProgress(batch: BatchLog): { done: number; total: number } {
  if (batch.requestCounts && batch.requestCounts.total > 0)
    return {
      done: batch.requestCounts.completed + batch.requestCounts.failed,
      total: batch.requestCounts.total,
    };
  if (batch.status !== BatchStatus.pending)
    return { done: batch.processedSentences + batch.failedSentences, total: batch.totalSentences };
  return { done: 0, total: batch.totalSentences };
}

/** A batch log as `--json` shows it (the `status` table's columns, with its job and its progress). */
export function batchJson(batch: BatchLog, progress: BatchProgress | undefined) {
  const estimate = progress?.estimate ?? null;
  return {
    id: batch.id,
    jobId: batch.batchJobId,
    partIndex: batch.partIndex,
    retryRound: batch.retryRound,
    parentBatchLogId: batch.parentBatchLogId,
    jobType: batch.jobType,
    provider: batch.provider,
    providerBatchId: batch.batchId,
    status: batchStatusName(batch.status),
    providerStatus: batch.providerStatus,
    totalRequests: batch.totalSentences,
    processedRequests: batch.processedSentences,
    failedRequests: batch.failedSentences,
    progress: batchProgress(batch),
    createdAt: batch.createdAt.toISOString(),
    estimatedCompletionAt: estimate ? new Date(estimate.at).toISOString() : null,
    estimateBasis: estimate?.basis ?? null,
  };
}
export type BatchJson = ReturnType<typeof batchJson>;

/** `[#######-------------]  35/100` — `width` cells, never more than full, `0/0` shown empty. */
export function progressBar(done: number, total: number, width = 20): string {
  const share = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.floor(share * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`;
}

/** A batch's line in `status --watch`: which one, its bar, its status at batchline and at the provider. */
export function watchLine(batch: BatchLog): string {
  const { done, total } = batchProgress(batch);
  const place =
    batch.batchJobId === null
      ? ''
      : batch.retryRound > 0
        ? ` round ${batch.retryRound}`
        : ` part ${batch.partIndex ?? 0}`;
  const status = batchStatusName(batch.status);
  const provider = batch.providerStatus === null ? '' : ` (${batch.providerStatus})`;
  return `batch log ${batch.id}${place}  ${progressBar(done, total)}  ${status}${provider}`;
}

/** The `status --watch` frame: the job's line (when watching a job), then a line per batch, keyed to spot changes. */
export type WatchFrame = ReadonlyMap<string, string>;

/** Without a terminal: the lines of `next` that are new or changed since `previous`, in order. */
export function changedLines(previous: WatchFrame, next: WatchFrame): string[] {
  return [...next].filter(([key, line]) => previous.get(key) !== line).map(([, line]) => line);
}

/**
 * On a terminal `columns` wide: what redraws `next` over the `previousLines` lines drawn before (cursor up, clear,
 * draw). Lines are cut to the width, so that none wraps and the next redraw goes up exactly as many lines.
 */
export function redraw(previousLines: number, next: WatchFrame, columns: number): string {
  const up = previousLines > 0 ? `\u001b[${previousLines}F\u001b[0J` : '';
  const fit = (line: string) =>
    line.length < columns ? line : `${line.slice(0, Math.max(0, columns - 2))}…`;
  return `${up}${[...next.values()].map(fit).join('\n')}\n`;
}

/** A job's line in `status --watch` and in `status job-N`: its figures, as the admin API counts them. */
export function jobLine(job: JobJson): string {
  return [
    `job-${job.id} ${job.jobType} (${job.provider}) ${job.outcome ?? job.state}:`,
    `${job.succeededRequests} succeeded, ${job.failedRequests} failed, ${job.unresolvedRequests} unresolved of ${job.totalRequests} requests;`,
    `${job.batches} batches (${job.pendingBatches} pending), ${job.retryRounds} retry rounds`,
  ].join(' ');
}
