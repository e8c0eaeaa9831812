import { insertBatchLog, type Pool, type Queryable, withTransaction } from '@batchline/db';
import { BatchStatus, failedRecord, type ResultRecord } from '@batchline/domain';
import { builtInJobTypes } from '@batchline/job-types';
import { silentLogger } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { buildApp, type MonitorAppDeps } from '../src/app.ts';

export const OPERATOR_TOKEN = 'operator-canary-token-7f3a9c';
export const READER_TOKEN = 'reader-canary-token-2b8e41';
export const asOperator = { authorization: `Bearer ${OPERATOR_TOKEN}` };
export const asReader = { authorization: `Bearer ${READER_TOKEN}` };

export const TEST_PRICES = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
};
export const TEST_PRICING = { prices: TEST_PRICES, batchDiscountPercent: { openai: 50, anthropic: 50 } };

/** The monitor app over `pool`, with test tokens and prices, no dashboard and no provider unless given. */
export function buildTestApp(pool: Pool, overrides: Partial<MonitorAppDeps> = {}): Promise<FastifyInstance> {
  return buildApp({
    pool,
    log: silentLogger,
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
  /** The part of `promptTokens` read from the prompt cache; null when the provider did not say. */
  cachedPromptTokens?: number | null;
}

export const ok = (
  promptTokens: number,
  completionTokens: number,
  cachedPromptTokens?: number,
): SeedResult => ({
  ok: true,
  promptTokens,
  completionTokens,
  cachedPromptTokens: cachedPromptTokens ?? null,
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
  provider?: 'openai' | 'anthropic';
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
const VIEWPOINTS = builtInJobTypes().default;

const toRecord = (result: SeedResult, index: number, firstSentence: number): ResultRecord => {
  const sentenceId = firstSentence + index;
  const tokens = { promptTokens: result.promptTokens, completionTokens: result.completionTokens };
  if (!result.ok)
    return failedRecord(
      VIEWPOINTS.customIdFor(sentenceId),
      sentenceId,
      result.errorCode!,
      'seeded failure',
      tokens,
    );
  return {
    customId: VIEWPOINTS.customIdFor(sentenceId),
    requestId: sentenceId,
    outcome: 'succeeded',
    rows: [[1 + (index % 5)]],
    errorCode: null,
    errorMessage: null,
    ...tokens,
    cachedPromptTokens: result.cachedPromptTokens ?? null,
  };
};

/**
 * Lands `records` of a batch as the persister lands a chunk: their results rows, the viewpoint associations of
 * the succeeded ones (an association an earlier batch made is skipped, as the persister skips it), and the
 * batch's counts.
 */
async function landResults(
  db: Queryable,
  batchLogId: number,
  records: readonly ResultRecord[],
): Promise<void> {
  await db.query(
    `INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, error_code, error_message,
       review_sentence_id, prompt_tokens, completion_tokens, cached_prompt_tokens)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[], $8::int[],
       $9::int[])`,
    [
      batchLogId,
      records.map((record) => record.customId),
      records.map((record) => record.outcome),
      records.map((record) => record.errorCode),
      records.map((record) => record.errorMessage),
      records.map((record) => record.requestId),
      records.map((record) => record.promptTokens),
      records.map((record) => record.completionTokens),
      records.map((record) => record.cachedPromptTokens ?? null),
    ],
  );
  const associations = records.flatMap((record) =>
    record.outcome === 'succeeded' ? record.rows.map(([viewpointId]) => [record.requestId, viewpointId]) : [],
  );
  await db.query(
    `INSERT INTO review_sentences_wl_spec_vp (review_sentence_id, wl_spec_vp_id, batch_log_id)
     SELECT sentence, viewpoint, $1 FROM unnest($2::bigint[], $3::bigint[]) AS a (sentence, viewpoint)
     ON CONFLICT (review_sentence_id, wl_spec_vp_id) DO NOTHING`,
    [batchLogId, associations.map(([sentence]) => sentence), associations.map(([, viewpoint]) => viewpoint)],
  );
  const succeeded = records.filter((record) => record.outcome === 'succeeded').length;
  await db.query(
    `UPDATE batch_jobs_vp_logs
     SET processed_sentences = processed_sentences + $2, failed_sentences = failed_sentences + $3
     WHERE id = $1`,
    [batchLogId, succeeded, records.length - succeeded],
  );
}

/**
 * Seeds a batch as the pipeline leaves it: a batch log (backdated) and, unless pending, its results as
 * `landSeedResults` lands them (all of them, and the final status, for a final batch). Sentence ids are
 * `firstSentence + index`, so custom ids are `rs-<firstSentence + index>`.
 */
export async function seedBatch(pool: Pool, spec: BatchSpec, firstSentence = 1): Promise<number> {
  seeded += 1;
  const { id } = await insertBatchLog(pool, {
    provider: spec.provider ?? 'openai',
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
  if (spec.state === 'pending' || (spec.state === 'processing' && spec.results.length === 0)) return id;
  await landSeedResults(pool, id, spec.results, {
    firstSentence,
    finalState: spec.state === 'processing' ? null : spec.state,
  });
  return id;
}

/**
 * Lands `results` of batch `batchLogId` (sentence ids from `firstSentence`) as the persister lands a chunk and,
 * with `finalState`, in the same transaction, sets the final status and landing time as the persister's
 * finalization does: the trigger of migration 0002 then records the monitor's facts (`monitor_batch_facts`,
 * `monitor_batch_errors`, `monitor_hourly_facts`) from exactly what the persister would have written. What
 * only other services read (the chunk ledger, `log_details`, the `batch.finalized` outbox row) is left out.
 */
export async function landSeedResults(
  pool: Pool,
  batchLogId: number,
  results: readonly SeedResult[],
  {
    firstSentence = 1,
    finalState = null,
  }: { firstSentence?: number; finalState?: 'completed' | 'failed' | null },
): Promise<void> {
  const records = results.map((result, index) => toRecord(result, index, firstSentence));
  await withTransaction(pool, async (client) => {
    await landResults(client, batchLogId, records);
    if (finalState === null) return;
    await client.query(
      `UPDATE batch_jobs_vp_logs SET status = $2, results_landed_at = now()
       WHERE id = $1 AND status = ${BatchStatus.pending}`,
      [batchLogId, finalState === 'completed' ? BatchStatus.completed : BatchStatus.failed],
    );
  });
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

/** A group of the batcher's queue as the batcher would write it (`batcher_group_status`), ages in minutes. */
export interface QueueGroupSpec {
  jobType: string;
  model: string;
  pending: number;
  oldestAgeMinutes: number;
  nextBatchDueInMinutes: number | null;
  paused?: boolean;
  waitingFor: string | null;
  budget?: { dailyUsd: number; spentTodayUsd: number };
  /** Minutes since the batcher last wrote it, and minutes it stayed fresh for. */
  updatedMinutesAgo?: number;
  freshMinutes?: number;
}

/** Seeds the batcher's queue status (the monitor only reads it; the batcher's own tests cover its writing). */
export async function seedBatcherQueue(pool: Pool, groups: readonly QueueGroupSpec[]): Promise<void> {
  for (const group of groups) {
    await pool.query(
      `INSERT INTO batcher_group_status
         (job_type, provider, model, pending, oldest_enqueued_at, next_batch_due_at, paused, waiting_for,
          daily_budget_usd, spent_today_usd, updated_at, stale_after)
       VALUES ($1, 'openai', $2, $3, now() - $4 * interval '1 minute', now() + $5 * interval '1 minute', $6, $7,
               $8, $9, now() - $10 * interval '1 minute', now() + ($11 - $10) * interval '1 minute')`,
      [
        group.jobType,
        group.model,
        group.pending,
        group.oldestAgeMinutes,
        group.nextBatchDueInMinutes,
        group.paused ?? false,
        group.waitingFor,
        group.budget?.dailyUsd ?? null,
        group.budget?.spentTodayUsd ?? null,
        group.updatedMinutesAgo ?? 0,
        group.freshMinutes ?? 2,
      ],
    );
  }
}
