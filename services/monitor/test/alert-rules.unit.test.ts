import { describe, expect, it } from 'vitest';
import { triggeredConditions } from '../src/alerts.ts';
import type { AlertConfig, AlertMeasurements } from '../src/store/alerts.ts';

const config: AlertConfig = {
  errorRatePercent: 10,
  processingTimeMs: 3_600_000,
  minJobsPerHour: 0.5,
  stuckBatchMs: 1_800_000,
  failedBatches: 1,
  channels: ['slack'],
  suppressionMs: 3_600_000,
  evaluationWindowMs: 2 * 3_600_000,
  updatedAt: new Date(),
  updatedBy: null,
};

const quiet: AlertMeasurements = {
  finishedJobs: 4,
  succeededRequests: 950,
  failedRequests: 50,
  failedJobs: 0,
  failedJobIds: [],
  slowJobs: 0,
  slowJobIds: [],
  longestProcessingMs: 0,
  waitingJobs: 0,
  stuckJobs: 0,
  stuckJobIds: [],
};

describe('triggeredConditions', () => {
  it('finds nothing when every measure is within its threshold', () => {
    expect(triggeredConditions(config, quiet)).toEqual([]);
  });

  it('finds each condition over its threshold, with value, threshold and batches', () => {
    const found = triggeredConditions(config, {
      finishedJobs: 0,
      succeededRequests: 80,
      failedRequests: 20,
      failedJobs: 2,
      failedJobIds: [9, 8],
      slowJobs: 1,
      slowJobIds: [5],
      longestProcessingMs: 5_400_000,
      waitingJobs: 3,
      stuckJobs: 1,
      stuckJobIds: [6],
    });
    expect(found.map((f) => [f.condition, f.value, f.threshold, f.batchLogIds])).toEqual([
      ['high_error_rate', 20, 10, []],
      ['long_processing_time', 5_400_000, 3_600_000, [5]],
      ['low_throughput', 0, 0.5, []],
      ['stuck_batches', 1, 1_800_000, [6]],
      ['batch_failures', 2, 1, [9, 8]],
    ]);
    expect(found[0]!.message).toBe(
      'Error rate 20% over the last 2h is above 10% (20 of 100 requests failed)',
    );
  });

  it('keeps a rule whose threshold is null off, and low throughput quiet while nothing old waits', () => {
    const off = { ...config, errorRatePercent: null, failedBatches: null };
    const measured = { ...quiet, failedRequests: 900, failedJobs: 5, finishedJobs: 0 };
    expect(triggeredConditions(off, measured)).toEqual([]);
  });
});
