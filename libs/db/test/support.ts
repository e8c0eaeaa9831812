import { insertBatchLog, type Pool } from '../index.ts';

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
