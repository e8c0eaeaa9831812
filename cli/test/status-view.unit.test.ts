import type { BatchJob, BatchLog } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.ts';
import {
  batchProgress,
  changedLines,
  jobJson,
  jobLine,
  jobState,
  parseSince,
  parseStatusFilter,
  parseStatusTarget,
  progressBar,
  redraw,
  watchLine,
} from '../src/status-view.ts';

const NOW = new Date('2026-12-06T12:00:00Z');

const batch = (overrides: Partial<BatchLog>): BatchLog =>
  ({
    id: 7,
    batchId: 'batch_x',
    status: BatchStatus.pending,
    providerStatus: null,
    requestCounts: null,
    totalSentences: 10,
    processedSentences: 0,
    failedSentences: 0,
    batchJobId: null,
    partIndex: null,
    parentBatchLogId: null,
    retryRound: 0,
    ...overrides,
  }) as BatchLog;

const job = (overrides: Partial<BatchJob>): BatchJob => ({
  id: 45,
  jobType: 'specific_viewpoint',
  provider: 'openai',
  model: 'gpt-4o-mini',
  origin: 'submit',
  totalRequests: 10,
  retryPolicy: {},
  outcome: null,
  finalizedAt: null,
  createdAt: NOW,
  updatedAt: NOW,
  ...overrides,
});

describe('status filters', () => {
  it('takes the three statuses and nothing else', () => {
    for (const status of ['pending', 'completed', 'failed']) expect(parseStatusFilter(status)).toBe(status);
    for (const bad of ['', 'Pending', 'done', '1']) expect(() => parseStatusFilter(bad)).toThrow(UsageError);
  });

  it('reads --since as a duration back from now, or an ISO date or time (UTC unless it says)', () => {
    expect(parseSince('90m', NOW).toISOString()).toBe('2026-12-06T10:30:00.000Z');
    expect(parseSince('7d', NOW).toISOString()).toBe('2026-11-29T12:00:00.000Z');
    expect(parseSince('500ms', NOW).toISOString()).toBe('2026-12-06T11:59:59.500Z');
    expect(parseSince('2026-12-01', NOW).toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('2026-12-01T08:30', NOW).toISOString()).toBe('2026-12-01T08:30:00.000Z');
    expect(parseSince('2026-12-01T08:30:00+02:00', NOW).toISOString()).toBe('2026-12-01T06:30:00.000Z');
    expect(parseSince('2026-12-01T08:30:00.250Z', NOW).toISOString()).toBe('2026-12-01T08:30:00.250Z');
    for (const bad of ['', 'yesterday', '2h ago', '-2h', '2026-13-01', '2026-12-01T25:00', '12/01/2026'])
      expect(() => parseSince(bad, NOW), bad).toThrow(UsageError);
  });

  it('tells a batch log id from a job id', () => {
    expect(parseStatusTarget('12')).toEqual({ batchLog: 12 });
    expect(parseStatusTarget('job-45')).toEqual({ job: 45 });
    expect(parseStatusTarget('job45')).toEqual({ job: 45 });
    for (const bad of ['0', '-1', 'job-', 'job-0', 'jobs-1', '1.5', '1234567890123456'])
      expect(() => parseStatusTarget(bad), bad).toThrow(UsageError);
  });
});

describe('progress', () => {
  it('draws a bar of done / total, never past full, empty for nothing to do', () => {
    expect(progressBar(0, 100)).toBe('[--------------------] 0/100');
    expect(progressBar(35, 100)).toBe('[#######-------------] 35/100');
    expect(progressBar(99, 100)).toBe('[###################-] 99/100');
    expect(progressBar(100, 100)).toBe('[####################] 100/100');
    expect(progressBar(120, 100)).toBe('[####################] 120/100');
    expect(progressBar(0, 0)).toBe('[--------------------] 0/0');
    expect(progressBar(1, 3, 6)).toBe('[##----] 1/3');
  });

  it("counts a batch's progress from the provider's counts, else what landed, else nothing done", () => {
    const counts = { total: 8, completed: 3, failed: 1 };
    expect(batchProgress(batch({ requestCounts: counts }))).toEqual({ done: 4, total: 8 });
    expect(batchProgress(batch({}))).toEqual({ done: 0, total: 10 });
    expect(
      batchProgress(batch({ status: BatchStatus.completed, processedSentences: 9, failedSentences: 1 })),
    ).toEqual({ done: 10, total: 10 });
    // Counts of zero requests (a provider that reports none yet) say nothing.
    expect(batchProgress(batch({ requestCounts: { total: 0, completed: 0, failed: 0 } }))).toEqual({
      done: 0,
      total: 10,
    });
  });

  it("names a batch's place in its job on its watch line", () => {
    const counts = { total: 8, completed: 4, failed: 0 };
    expect(watchLine(batch({ requestCounts: counts, providerStatus: 'in_progress' }))).toBe(
      'batch log 7  [##########----------] 4/8  pending (in_progress)',
    );
    expect(watchLine(batch({ batchJobId: 45, partIndex: 1 }))).toBe(
      'batch log 7 part 1  [--------------------] 0/10  pending',
    );
    expect(watchLine(batch({ batchJobId: 45, retryRound: 2, status: BatchStatus.failed }))).toBe(
      'batch log 7 round 2  [--------------------] 0/10  failed',
    );
  });
});

describe('jobs', () => {
  it('reads a job as pending until finalized, then by its outcome', () => {
    expect(jobState(job({}))).toBe('pending');
    expect(jobState(job({ outcome: 'succeeded' }))).toBe('completed');
    expect(jobState(job({ outcome: 'partially_succeeded' }))).toBe('completed');
    expect(jobState(job({ outcome: 'failed' }))).toBe('failed');
  });

  it('shows a job without figures yet as all unresolved, and its line with its figures', () => {
    expect(jobJson(job({}), undefined)).toMatchObject({
      succeededRequests: 0,
      failedRequests: 0,
      unresolvedRequests: 10,
      batches: 0,
      createdAt: NOW.toISOString(),
      finalizedAt: null,
    });
    const figures = {
      batchJobId: 45,
      totalRequests: 10,
      succeededRequests: 7,
      failedRequests: 2,
      unresolvedRequests: 1,
      batches: 3,
      pendingBatches: 1,
      retryRounds: 1,
    };
    expect(jobLine(jobJson(job({ outcome: 'partially_succeeded' }), figures))).toBe(
      'job-45 specific_viewpoint (openai) partially_succeeded: 7 succeeded, 2 failed, 1 unresolved of 10 requests; 3 batches (1 pending), 1 retry rounds',
    );
  });
});

describe('watch frames', () => {
  const frame = (entries: [string, string][]) => new Map(entries);

  it('without a terminal, prints only the lines that are new or changed', () => {
    const first = frame([
      ['job', 'job line'],
      ['batch 1', 'one 0/2'],
    ]);
    expect(changedLines(new Map(), first)).toEqual(['job line', 'one 0/2']);
    expect(changedLines(first, first)).toEqual([]);
    const next = frame([
      ['job', 'job line'],
      ['batch 1', 'one 1/2'],
      ['batch 2', 'two 0/1'],
    ]);
    expect(changedLines(first, next)).toEqual(['one 1/2', 'two 0/1']);
  });

  it('on a terminal, redraws over the lines drawn before', () => {
    const lines = frame([
      ['a', 'first'],
      ['b', 'second'],
    ]);
    expect(redraw(0, lines, 80)).toBe('first\nsecond\n');
    expect(redraw(2, lines, 80)).toBe('\u001b[2F\u001b[0Jfirst\nsecond\n');
    // A line as wide as the terminal would wrap: it is cut, so each line stays one row.
    expect(redraw(0, lines, 6)).toBe('first\nseco…\n');
    expect(redraw(0, lines, 7)).toBe('first\nsecond\n');
  });
});
