import { insertBatchLog, type Pool } from '@batchline/db';
import { BatchStatus, failedRecord, type ResultRecord } from '@batchline/domain';
import {
  decodeEvent,
  encodeResultRecord,
  encodeResultsChunk,
  type ResultsParsedEvent,
  type ResultsSummary,
  Subjects,
} from '@batchline/events';
import { builtInJobTypes, type JobType } from '@batchline/job-types';

/** specific_viewpoint as it ships. */
export const viewpoints: JobType = builtInJobTypes().default;

let batchCounter = 0;

/** A pending batch log with a unique provider batch id, due for its first check now. */
export async function newBatch(pool: Pool, totalSentences = 0, jobType = viewpoints.name): Promise<number> {
  batchCounter += 1;
  const { id } = await insertBatchLog(pool, {
    provider: 'openai',
    jobType,
    batchId: `batch_test_${process.pid}_${batchCounter}_${Date.now()}`,
    model: 'gpt-test',
    totalSentences,
    inputFileId: 'file-in',
    firstPollDelayMs: 0,
  });
  return id;
}

export const succeeded = (sentenceId: number, viewpointIds: number[]): ResultRecord => ({
  customId: viewpoints.customIdFor(sentenceId),
  requestId: sentenceId,
  outcome: 'succeeded',
  rows: viewpointIds.map((viewpointId) => [viewpointId]),
  errorCode: null,
  errorMessage: null,
  promptTokens: 10,
  completionTokens: 3,
});

export const failed = (sentenceId: number, errorCode: string, message = 'it went wrong'): ResultRecord =>
  failedRecord(viewpoints.customIdFor(sentenceId), sentenceId, errorCode, message);

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

/**
 * The `batch.results.parsed` events of one batch of `jobType`: one per group of records, the last carrying the
 * summary; encoded and decoded as the fetcher and the persister's consumer do.
 */
export function chunksOf(
  batchLogId: number,
  groups: ResultRecord[][],
  summary: ResultsSummary = summaryOf(),
  jobType: JobType = viewpoints,
): ResultsParsedEvent[] {
  const rowWidth = jobType.target.valueColumns.length;
  return groups.map((records, chunkSeq) => {
    const last = chunkSeq === groups.length - 1;
    const chunk = encodeResultsChunk(
      {
        batchLogId,
        provider: 'openai',
        providerBatchId: 'batch_test',
        jobType: jobType.name,
        chunkSeq,
        last,
        chunkCount: last ? groups.length : null,
        summary: last ? summary : null,
      },
      records.map((record) => encodeResultRecord(record, rowWidth)),
    );
    return decodeEvent(Subjects.resultsParsed, chunk.data);
  });
}
