import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertBatchLog, type Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import {
  type BatchOutcome,
  type Emulator,
  type EmulatorOptions,
  type MessageBatchOutcome,
  startEmulator,
} from '@batchline/emulator';
import type { OpsErrorEvent, StatusChangedEvent } from '@batchline/events';
import { builtInJobTypes } from '@batchline/job-types';
import { type BatchProvider, createAnthropicProvider, createOpenAIProvider } from '@batchline/providers';
import { migratedTestDatabase, silentLogger } from '@batchline/testing';
import { type CheckDeps, type CheckResult, checkBatch } from '../src/check-batch.ts';
import { leaseBatch } from '../src/store/leases.ts';

export const OPENAI_KEY = 'sk-poller-test-0000000000';
export const ANTHROPIC_KEY = 'sk-ant-poller-test-0000000';
export const CATALOGUE = [
  { id: 1, name: 'Battery life' },
  { id: 2, name: 'Screen quality' },
];
const VIEWPOINTS = builtInJobTypes().default;
const TEXTS = ['The battery died.', 'The screen is sharp.', 'Fine.'];

/** A database, an emulator on a manual clock, both providers, and helpers to create and check batches. */
export interface PollerWorld {
  pool: Pool;
  emulator: Emulator;
  openai: BatchProvider;
  anthropic: BatchProvider;
  deps: CheckDeps;
  /** Moves the emulator's clock (not the database's). */
  advance(ms: number): void;
  now(): number;
  /** The outcome the next created batch gets. */
  scriptNext(outcome: BatchOutcome | undefined): void;
  create(provider: ProviderName, requests?: number): Promise<{ batchLogId: number; providerBatchId: string }>;
  adopt(provider: ProviderName, providerBatchId: string): Promise<number>;
  check(batchLogId: number, overrides?: Partial<CheckDeps>): Promise<CheckResult>;
  statusEvents(batchLogId: number): Promise<StatusChangedEvent[]>;
  opsEvents(): Promise<OpsErrorEvent[]>;
  row(batchLogId: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function pollerWorld(
  label: string,
  options: { clock?: EmulatorOptions['clock']; deps?: Partial<CheckDeps> } = {},
): Promise<PollerWorld> {
  const db = await migratedTestDatabase(label);
  const { pool } = db;
  let current = Date.parse('2026-11-23T00:00:00Z');
  let next: BatchOutcome | undefined;
  const emulator = await startEmulator({
    clock: options.clock ?? { validatingMs: 1000, inProgressMs: 5000, finalizingMs: 1000 },
    now: () => current,
    batchOutcome: () => next,
    messageBatchOutcome: () =>
      next?.status === 'failed' ? undefined : (next as MessageBatchOutcome | undefined),
  });
  const openai = createOpenAIProvider({ apiKey: OPENAI_KEY, baseURL: emulator.baseUrl, timeoutMs: 2_000 });
  const anthropic = createAnthropicProvider({
    apiKey: ANTHROPIC_KEY,
    baseURL: emulator.anthropicBaseUrl,
    timeoutMs: 2_000,
  });
  const dir = await mkdtemp(join(tmpdir(), `batchline-${label}-`));
  const deps: CheckDeps = {
    pool,
    providers: { get: (name) => (name === 'openai' ? openai : anthropic) },
    schedule: [60_000, 120_000],
    errorBackoff: [10_000, 20_000, 40_000],
    maxAgeMs: 26 * 3_600_000,
    cancelGraceMs: 3_600_000,
    notFoundConfirmMs: 30_000,
    rateLimitPauseMs: 60_000,
    probeIntervalMs: 60_000,
    log: silentLogger,
    random: () => 0.5,
    ...options.deps,
  };
  let files = 0;

  const requestFile = async (provider: ProviderName, count: number) => {
    const context = {
      model: 'm',
      catalogue: CATALOGUE.map(({ id, name }) => ({ key: String(id), label: name })),
    };
    const lines = Array.from({ length: count }, (_, i) =>
      JSON.stringify(
        VIEWPOINTS.requestLine(provider, { id: i + 1, fields: { text: TEXTS[i % 3]! } }, context),
      ),
    );
    files += 1;
    const path = join(dir, `requests-${files}.jsonl`);
    await writeFile(path, `${lines.join('\n')}\n`);
    return path;
  };

  const world: PollerWorld = {
    pool,
    emulator,
    openai,
    anthropic,
    deps,
    advance: (ms) => {
      current += ms;
    },
    now: () => current,
    scriptNext: (outcome) => {
      next = outcome;
    },
    async create(provider, requests = 4) {
      const client = provider === 'openai' ? openai : anthropic;
      const batch = await client.uploadAndCreateBatch({
        inputPath: await requestFile(provider, requests),
        endpoint: provider === 'openai' ? '/v1/chat/completions' : '/v1/messages',
      });
      const { id } = await insertBatchLog(pool, {
        provider,
        batchId: batch.id,
        model: 'm',
        totalSentences: requests,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: 0,
      });
      return { batchLogId: id, providerBatchId: batch.id };
    },
    async adopt(provider, providerBatchId) {
      const { id } = await insertBatchLog(pool, {
        provider,
        batchId: providerBatchId,
        model: null,
        totalSentences: 0,
        inputFileId: null,
        firstPollDelayMs: 0,
      });
      return id;
    },
    async check(batchLogId, overrides = {}) {
      const leased = await leaseBatch(pool, batchLogId, { owner: 'test', leaseMs: 30_000 });
      if (!leased) throw new Error(`batch log ${batchLogId} could not be leased`);
      return checkBatch({ ...deps, ...overrides }, leased);
    },
    async statusEvents(batchLogId) {
      const { rows } = await pool.query<{ payload: StatusChangedEvent }>(
        `SELECT payload FROM outbox WHERE subject = 'batch.status.changed'
           AND (payload->>'batchLogId')::bigint = $1 ORDER BY id`,
        [batchLogId],
      );
      return rows.map((row) => row.payload);
    },
    async opsEvents() {
      const { rows } = await pool.query<{ payload: OpsErrorEvent }>(
        `SELECT payload FROM outbox WHERE subject = 'ops.error' ORDER BY id`,
      );
      return rows.map((row) => row.payload);
    },
    async row(batchLogId) {
      const { rows } = await pool.query(
        `SELECT *, extract(epoch FROM next_poll_at - now())::float8 AS next_poll_in_s
         FROM batch_jobs_vp_logs WHERE id = $1`,
        [batchLogId],
      );
      return rows[0]!;
    },
    async close() {
      await emulator.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

let batchCounter = 0;

/** A pending OpenAI batch log with a unique provider batch id, due for its first check now. */
export async function newBatch(pool: Pool): Promise<number> {
  batchCounter += 1;
  const { id } = await insertBatchLog(pool, {
    provider: 'openai',
    batchId: `batch_test_${process.pid}_${batchCounter}_${Date.now()}`,
    model: 'gpt-test',
    totalSentences: 0,
    inputFileId: 'file-in',
    firstPollDelayMs: 0,
  });
  return id;
}
