import { insertBatchLog, type Queryable } from '@batchline/db';

let batchCounter = 0;

/**
 * A pending batch log (model `gpt-test`, of `jobType`, by default specific_viewpoint) with a unique provider batch
 * id, for a message to announce.
 */
export async function newBatch(db: Queryable, jobType?: string): Promise<number> {
  batchCounter += 1;
  const { id } = await insertBatchLog(db, {
    provider: 'openai',
    batchId: `batch_test_${process.pid}_${batchCounter}_${Date.now()}`,
    model: 'gpt-test',
    jobType,
    totalSentences: 0,
    inputFileId: 'file-in',
    firstPollDelayMs: 0,
  });
  return id;
}
