import { BatchStatus } from '@batchline/domain';
import type { BatchFinalizedEvent, StatusChangedEvent } from '@batchline/events';

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
