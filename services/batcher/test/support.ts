import { DEFAULT_MODEL_PRICES, pricingFrom } from '@batchline/config';
import type { Pool } from '@batchline/db';
import { type Emulator, type EmulatorOptions, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
import { type MigratedTestDatabase, migratedTestDatabase, silentLogger } from '@batchline/testing';
import type { BatchPolicy } from '../src/batch-policy.ts';
import { type BatcherLoopDeps, runBatcherTick } from '../src/batcher-loop.ts';
import { intakeHandler } from '../src/intake.ts';

export const OPENAI_KEY = 'sk-batcher-test-000000000000';
export const JOB_TYPE = builtInJobTypes().default.name;

/** A database, the emulator, the batcher's intake and ticks run in-process (a "replica" per instance id). */
export interface BatcherWorld {
  db: MigratedTestDatabase;
  pool: Pool;
  emulator: Emulator;
  provider: BatchProvider;
  enqueue(ids: readonly number[], text?: string, model?: string): Promise<void>;
  tick(overrides?: Partial<BatcherLoopDeps>): ReturnType<typeof runBatcherTick>;
  deps(overrides?: Partial<BatcherLoopDeps>): BatcherLoopDeps;
  /** Each request id and the batch logs it was recorded in. */
  landings(): Promise<Map<number, number[]>>;
  close(): Promise<void>;
}

export const defaultPolicy: BatchPolicy = {
  maxRequests: 1_000,
  minSize: 1,
  interval: { kind: 'every', ms: 60 * 60_000 },
  dailyBudgetUsd: null,
};

export async function batcherWorld(
  label: string,
  emulatorOptions: EmulatorOptions = {},
): Promise<BatcherWorld> {
  const db = await migratedTestDatabase(label);
  const emulator = await startEmulator({
    clock: { validatingMs: 0, inProgressMs: 3_600_000, finalizingMs: 0 },
    ...emulatorOptions,
  });
  const provider = createOpenAIProvider({ apiKey: OPENAI_KEY, baseURL: emulator.baseUrl, timeoutMs: 5_000 });
  const jobTypes = builtInJobTypes();
  const intake = intakeHandler({
    pool: db.pool,
    jobTypes,
    defaultModel: 'gpt-4o-mini',
    group: { maxItems: 500, maxWaitMs: 1 },
  });
  const deps = (overrides: Partial<BatcherLoopDeps> = {}): BatcherLoopDeps => ({
    pool: db.pool,
    provider,
    jobTypes,
    log: silentLogger,
    service: 'batcher',
    instanceId: 'batcher-test-1',
    firstPollDelayMs: 60_000,
    pricing: pricingFrom({ MODEL_PRICES: DEFAULT_MODEL_PRICES }),
    maxEnqueuedTokens: 10_000_000,
    refusalBackoffMs: 300_000,
    leaseMs: 600_000,
    enabled: true,
    tickMs: 1_000,
    policyOf: () => defaultPolicy,
    ...overrides,
  });
  return {
    db,
    pool: db.pool,
    emulator,
    provider,
    async enqueue(ids, text = 'The battery died after an hour.', model) {
      // Taken in together, as the consumer's deliveries in flight are (one INSERT per group).
      await Promise.all(
        ids.map((id) =>
          intake({ jobType: JOB_TYPE, requestId: id, fields: { text }, ...(model ? { model } : {}) }),
        ),
      );
    },
    tick: (overrides) => runBatcherTick(deps(overrides)),
    deps,
    async landings() {
      const { rows } = await db.pool.query<{ id: string; batch_log_id: string }>(
        `SELECT unnest(r.sentence_ids) AS id, r.batch_log_id FROM batch_request_ids r
         JOIN batch_jobs_vp_logs l ON l.id = r.batch_log_id`,
      );
      const landed = new Map<number, number[]>();
      for (const row of rows) {
        const list = landed.get(Number(row.id)) ?? [];
        list.push(Number(row.batch_log_id));
        landed.set(Number(row.id), list);
      }
      return landed;
    },
    async close() {
      await emulator.close();
      await db.close();
    },
  };
}

export const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
