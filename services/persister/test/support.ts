import { insertBatchLog, type Pool } from '@batchline/db';
import { BatchStatus, customIdFor, failedRecord, type ResultRecord } from '@batchline/domain';
import type { ResultsParsedEvent, ResultsSummary } from '@batchline/events';

let batchCounter = 0;

/** A pending batch log with a unique provider batch id, due for its first check now. */
export async function newBatch(pool: Pool, totalSentences = 0): Promise<number> {
  batchCounter += 1;
  const { id } = await insertBatchLog(pool, {
    provider: 'openai',
    batchId: `batch_test_${process.pid}_${batchCounter}_${Date.now()}`,
    model: 'gpt-test',
    totalSentences,
    inputFileId: 'file-in',
    firstPollDelayMs: 0,
  });
  return id;
}

export const succeeded = (sentenceId: number, viewpointIds: number[]): ResultRecord => ({
  customId: customIdFor(sentenceId),
  sentenceId,
  outcome: 'succeeded',
  viewpointIds,
  errorCode: null,
  errorMessage: null,
  promptTokens: 10,
  completionTokens: 3,
});

export const failed = (sentenceId: number, errorCode: string, message = 'it went wrong'): ResultRecord =>
  failedRecord(customIdFor(sentenceId), sentenceId, errorCode, message);

export const summaryOf = (overrides: Partial<ResultsSummary> = {}): ResultsSummary => ({
  finalStatus: BatchStatus.completed,
  reason: 'completed',
  providerStatus: 'completed',
  providerErrors: [],
  linesRead: { output: 0, error: 0 },
  invalidLines: { count: 0, samples: [] },
  duplicateLines: 0,
  unexpectedLines: 0,
  missingResults: 0,
  inputUnavailable: null,
  downloadError: null,
  ...overrides,
});

/** The `batch.results.parsed` events of one batch: one per group of records, the last carrying the summary. */
export function chunksOf(
  batchLogId: number,
  groups: ResultRecord[][],
  summary: ResultsSummary = summaryOf(),
): ResultsParsedEvent[] {
  return groups.map((records, chunkSeq) => {
    const last = chunkSeq === groups.length - 1;
    return {
      batchLogId,
      provider: 'openai',
      providerBatchId: 'batch_test',
      chunkSeq,
      last,
      chunkCount: last ? groups.length : null,
      records,
      summary: last ? summary : null,
    };
  });
}
