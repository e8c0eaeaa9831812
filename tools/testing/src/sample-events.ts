import { BatchStatus } from '@batchline/domain';
import type { BatchFinalizedEvent, JobFinalizedEvent, StatusChangedEvent } from '@batchline/events';

/** Valid sample events, for tests of what carries them. */
export function sampleStatusChangedEvent(batchLogId: number): StatusChangedEvent {
  return {
    batchLogId,
    provider: 'openai',
    providerBatchId: `batch_${batchLogId}`,
    previousProviderStatus: 'validating',
    providerStatus: 'in_progress',
    terminal: false,
    reason: null,
    inputFileId: 'file-in',
    outputFileId: null,
    errorFileId: null,
    requestCounts: { total: 3, completed: 0, failed: 0 },
    providerErrors: [],
    observedAt: new Date().toISOString(),
  };
}

export function sampleBatchFinalizedEvent(batchLogId: number): BatchFinalizedEvent {
  const now = new Date().toISOString();
  return {
    version: 1,
    batchLogId,
    provider: 'openai',
    providerBatchId: `batch_${batchLogId}`,
    status: BatchStatus.completed,
    reason: 'completed',
    providerStatus: 'completed',
    totalSentences: 3,
    processedSentences: 3,
    failedSentences: 0,
    associations: 4,
    topErrors: [],
    invalidLines: 0,
    submittedAt: now,
    providerTerminalAt: now,
    landedAt: now,
  };
}

/** A `job.finalized` of a job of `jobType` whose every request succeeded. */
export function sampleJobFinalizedEvent(
  batchJobId: number,
  jobType = 'specific_viewpoint',
): JobFinalizedEvent {
  const now = new Date().toISOString();
  return {
    version: 1,
    batchJobId,
    jobType,
    provider: 'openai',
    model: 'gpt-4o-mini',
    outcome: 'succeeded',
    totalRequests: 3,
    succeededRequests: 3,
    failedRequests: 0,
    batches: 1,
    retryRounds: 0,
    topErrors: [],
    createdAt: now,
    finalizedAt: now,
  };
}
