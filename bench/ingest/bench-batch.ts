// The bench's batch at the emulator, and the databases every contender lands it in.
import { join } from 'node:path';
import { createPool, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import type { Viewpoint } from '@batchline/domain';
import { type Emulator, type ExpectedBatchOutcomes, startEmulator } from '@batchline/emulator';
import type { JobType } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { createOpenAIProvider } from '@batchline/providers';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { type BenchJobTypes, benchRequestId, landedRowCount, prepareJobTypeTables } from './job-types.ts';
import { benchSentences, benchViewpoints, paddedAnswers, writeRequestFile } from './workload.ts';

const log = createLogger({ service: 'bench', level: 'silent' });
export const API_KEY = 'sk-bench-0000000000000000';

export interface BenchBatch {
  jobType: JobType;
  emulator: Emulator;
  providerBatchId: string;
  inputFileId: string;
  outputFileId: string;
  outputBytes: number;
  /** The request ids, recorded with the batch as `batchline submit` records them. */
  requestIds: number[] | string[];
  oracle: ExpectedBatchOutcomes;
  /** Rows the oracle's answers land: associations for specific_viewpoint, the other job type's rows else. */
  expectedAssociations: number;
}

/** The catalogue a job type's prompts carry, as a database seeded like the bench's holds it. */
async function catalogueOf(jobType: JobType, jobTypes: BenchJobTypes) {
  if (!jobType.catalogue) return [];
  const { db, pool } = await benchDatabase('catalogue', jobTypes);
  try {
    return (await pool.query<{ key: string; label: string }>(jobType.catalogue.selectSql)).rows;
  } finally {
    await pool.end();
    await db.drop();
  }
}

export async function prepareBatch(
  workDir: string,
  requests: number,
  padBytes: number,
  jobType: JobType,
  jobTypes: BenchJobTypes,
): Promise<BenchBatch> {
  const emulator = await startEmulator({
    apiKey: API_KEY,
    jobTypes: jobTypes.set,
    dataDir: join(workDir, `emulator-${jobType.name}`),
    clock: { validatingMs: 0, inProgressMs: 0, finalizingMs: 0 },
    lineFaults: padBytes > 0 ? paddedAnswers(padBytes) : undefined,
  });
  const inputPath = join(workDir, `input-${jobType.name}.jsonl`);
  const sentences = benchSentences(requests);
  await writeRequestFile(inputPath, jobType, await catalogueOf(jobType, jobTypes), sentences);
  const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: emulator.baseUrl });
  const created = await provider.uploadAndCreateBatch({
    inputPath,
    endpoint: jobType.batchEndpoint('openai'),
  });
  // The batch is over at once; asking for the oracle writes its result files before anything is timed.
  const oracle = await emulator.expectedOutcomes(created.id);
  const batch = await provider.getBatch(created.id);
  if (batch.status !== 'completed' || !batch.outputFileId || !batch.inputFileId) {
    throw new Error(`the emulated batch did not complete with an output file (${batch.status})`);
  }
  const file = (await (
    await fetch(`${emulator.baseUrl}/files/${batch.outputFileId}`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    })
  ).json()) as { bytes: number };
  const expectedAssociations = oracle.outcomes.reduce(
    (sum, outcome) => sum + (outcome.outcome === 'succeeded' ? landedRowCount(outcome) : 0),
    0,
  );
  return {
    jobType,
    emulator,
    providerBatchId: batch.id,
    inputFileId: batch.inputFileId,
    outputFileId: batch.outputFileId,
    outputBytes: file.bytes,
    requestIds: sentences.map((sentence) => benchRequestId(jobType, sentence.reviewSentenceId)) as
      | number[]
      | string[],
    oracle,
    expectedAssociations,
  };
}

/** A fresh database with the schema, the job types' tables and catalogues: every contender gets its own. */
export async function benchDatabase(
  label: string,
  jobTypes: BenchJobTypes,
  viewpoints: readonly Viewpoint[] = benchViewpoints(),
): Promise<{ db: TestDatabase; pool: Pool }> {
  const db = await createTestDatabase(`bench_${label}`);
  const pool = createPool({ connectionString: db.url, log, applicationName: 'bench' });
  await migrate(pool, log);
  await upsertViewpoints(pool, viewpoints);
  await prepareJobTypeTables(pool, jobTypes.set);
  return { db, pool };
}
