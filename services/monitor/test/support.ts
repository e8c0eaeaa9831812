import {
  applyResultsChunk,
  createPool,
  insertBatchLog,
  migrate,
  type Pool,
  upsertViewpoints,
} from '@batchline/db';
import { customIdFor, failedRecord, type ResultRecord } from '@batchline/domain';
import type { ResultsParsedEvent } from '@batchline/events';
import { createLogger } from '@batchline/logging';
import { createTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp, type MonitorAppDeps } from '../index.ts';

export const silentLog = createLogger({ service: 'monitor-test', level: 'silent' });

export const OPERATOR_TOKEN = 'operator-canary-token-7f3a9c';
export const READER_TOKEN = 'reader-canary-token-2b8e41';
export const asOperator = { authorization: `Bearer ${OPERATOR_TOKEN}` };
export const asReader = { authorization: `Bearer ${READER_TOKEN}` };

export const TEST_PRICES = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
};
export const TEST_PRICING = { prices: TEST_PRICES, batchDiscountPercent: 50 };

export interface MonitorDatabase {
  pool: Pool;
  url: string;
  close(): Promise<void>;
}

/** A fresh database of its own with the schema applied and viewpoints 1..5 in the catalogue. */
export async function monitorDatabase(label: string): Promise<MonitorDatabase> {
  const database = await createTestDatabase(label);
  const pool = createPool({
    connectionString: database.url,
    log: silentLog,
    applicationName: 'monitor-test',
  });
  await migrate(pool, silentLog);
  await upsertViewpoints(
    pool,
    [1, 2, 3, 4, 5].map((id) => ({ id, name: `viewpoint ${id}` })),
  );
  return {
    pool,
    url: database.url,
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}

/** The monitor app over `pool`, with test tokens and prices, no dashboard and no provider unless given. */
export function buildTestApp(pool: Pool, overrides: Partial<MonitorAppDeps> = {}): Promise<FastifyInstance> {
  return buildApp({
    pool,
    log: silentLog,
    providers: {},
    operatorTokens: [OPERATOR_TOKEN],
    readerTokens: [READER_TOKEN],
    pricing: TEST_PRICING,
    firstPollDelayMs: 60_000,
    dashboardDir: null,
    ...overrides,
  });
}

/** One request outcome of a seeded batch. */
export interface SeedResult {
  ok: boolean;
  errorCode?: string;
  promptTokens: number | null;
  completionTokens: number | null;
}

export const ok = (promptTokens: number, completionTokens: number): SeedResult => ({
  ok: true,
  promptTokens,
  completionTokens,
});
export const failed = (
  errorCode: string,
  promptTokens: number | null = null,
  completionTokens: number | null = null,
) => ({
  ok: false,
  errorCode,
  promptTokens,
  completionTokens,
});

/** A batch to seed: how old, which model and type, where it is, and its request outcomes. */
export interface BatchSpec {
  name: string;
  ageMinutes: number;
  model: string | null;
  jobType?: string;
  /** `completed`/`failed`: every result landed and the status set; `processing`: results partly landed. */
  state: 'pending' | 'processing' | 'completed' | 'failed';
  providerStatus?: string | null;
  results: SeedResult[];
  /** Requests of the batch; defaults to the number of results. */
  totalRequests?: number;
  providerBatchId?: string;
  inputFileId?: string;
}

let seeded = 0;

const toRecord = (result: SeedResult, index: number, firstSentence: number): ResultRecord => {
  const sentenceId = firstSentence + index;
  const tokens = { promptTokens: result.promptTokens, completionTokens: result.completionTokens };
  if (!result.ok)
    return failedRecord(customIdFor(sentenceId), sentenceId, result.errorCode!, 'seeded failure', tokens);
  return {
    customId: customIdFor(sentenceId),
    sentenceId,
    outcome: 'succeeded',
    viewpointIds: [1 + (index % 5)],
    errorCode: null,
    errorMessage: null,
    ...tokens,
  };
};

/**
 * Seeds a batch the way the pipeline writes it: a batch log (backdated), then its results through the
 * persister's chunk write, which sets the final status (and so records the monitor's facts) on the last chunk.
 * Sentence ids are `firstSentence + index`, so custom ids are `rs-<firstSentence + index>`.
 */
export async function seedBatch(pool: Pool, spec: BatchSpec, firstSentence = 1): Promise<number> {
  seeded += 1;
  const { id } = await insertBatchLog(pool, {
    provider: 'openai',
    batchId: spec.providerBatchId ?? `batch_seed_${process.pid}_${seeded}_${Date.now()}`,
    model: spec.model,
    jobType: spec.jobType,
    totalSentences: spec.totalRequests ?? spec.results.length,
    inputFileId: spec.inputFileId ?? `file-seed-${seeded}`,
    firstPollDelayMs: 60_000,
  });
  const providerStatus =
    spec.providerStatus !== undefined
      ? spec.providerStatus
      : { pending: null, processing: 'in_progress', completed: 'completed', failed: 'expired' }[spec.state];
  await pool.query(
    `UPDATE batch_jobs_vp_logs SET created_at = now() - $2::float8 * interval '1 minute', provider_status = $3
     WHERE id = $1`,
    [id, spec.ageMinutes, providerStatus],
  );
  const records = spec.results.map((result, index) => toRecord(result, index, firstSentence));
  if (spec.state === 'processing' && records.length > 0) {
    await applyResultsChunk(pool, chunk(id, 0, records, false));
  }
  if (spec.state === 'completed' || spec.state === 'failed') {
    await applyResultsChunk(pool, chunk(id, 0, records, true, spec.state === 'completed' ? 2 : 9));
  }
  return id;
}

function chunk(
  batchLogId: number,
  chunkSeq: number,
  records: ResultRecord[],
  last: boolean,
  finalStatus: 2 | 9 = 2,
): ResultsParsedEvent {
  return {
    batchLogId,
    provider: 'openai',
    providerBatchId: 'batch_seed',
    chunkSeq,
    last,
    chunkCount: last ? chunkSeq + 1 : null,
    records,
    summary: last
      ? {
          finalStatus,
          reason: finalStatus === 2 ? 'completed' : 'expired',
          providerStatus: finalStatus === 2 ? 'completed' : 'expired',
          providerErrors: [],
          linesRead: { output: records.length, error: 0 },
          invalidLines: { count: 0, samples: [] },
          duplicateLines: 0,
          unexpectedLines: 0,
          missingResults: 0,
          inputUnavailable: null,
          downloadError: null,
        }
      : null,
  };
}

/** The audit records of a request, oldest first. */
export async function auditRecords(pool: Pool, where = 'true', values: unknown[] = []) {
  const { rows } = await pool.query(`SELECT * FROM audit_log WHERE ${where} ORDER BY id`, values);
  return rows as {
    actor: string;
    action: string;
    target: string | null;
    outcome: string;
    status_code: number | null;
    request_id: string | null;
    route: string | null;
    details: Record<string, unknown> | null;
  }[];
}
