import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusChangedEvent } from '@batchline/bus';
import { createPool, insertBatchLog, leaseBatch, leaseDueBatches, migrate, type Pool } from '@batchline/db';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckDeps, checkBatch } from '../src/check-batch.ts';

const log = createLogger({ service: 'poller-test', level: 'silent' });
const CLOCK = { validatingMs: 1000, inProgressMs: 5000, finalizingMs: 1000 };
const SCHEDULE = [60_000, 120_000];

describe('checkBatch against the emulator', () => {
  let db: TestDatabase;
  let pool: Pool;
  let emulator: Emulator;
  let provider: BatchProvider;
  let dir: string;
  let now = Date.parse('2026-11-23T00:00:00Z');
  let deps: CheckDeps;

  const statusEvents = async (batchLogId: number): Promise<StatusChangedEvent[]> => {
    const { rows } = await pool.query<{ payload: StatusChangedEvent }>(
      "SELECT payload FROM outbox WHERE subject = 'batch.status.changed' AND (payload->>'batchLogId')::bigint = $1 ORDER BY id",
      [batchLogId],
    );
    return rows.map((row) => row.payload);
  };

  const createBatch = async (): Promise<{ batchLogId: number; providerBatchId: string }> => {
    const path = join(dir, `input-${Math.random()}.jsonl`);
    const line = (id: number) =>
      JSON.stringify({
        custom_id: `rs-${id}`,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      });
    await writeFile(path, `${line(1)}\n${line(2)}\n`);
    const batch = await provider.uploadAndCreateBatch({ inputPath: path, endpoint: '/v1/chat/completions' });
    const { id } = await insertBatchLog(pool, {
      provider: 'openai',
      batchId: batch.id,
      model: 'm',
      totalSentences: 2,
      inputFileId: batch.inputFileId,
      firstPollDelayMs: 0,
    });
    return { batchLogId: id, providerBatchId: batch.id };
  };

  const adopt = async (providerBatchId: string): Promise<number> =>
    (
      await insertBatchLog(pool, {
        provider: 'openai',
        batchId: providerBatchId,
        model: null,
        totalSentences: 0,
        inputFileId: null,
        firstPollDelayMs: 0,
      })
    ).id;

  const check = async (batchLogId: number, overrides: Partial<CheckDeps> = {}) => {
    const leased = await leaseBatch(pool, batchLogId, { owner: 'test', leaseMs: 30_000 });
    if (!leased) throw new Error(`batch log ${batchLogId} could not be leased`);
    return checkBatch({ ...deps, ...overrides }, leased);
  };

  const secondsUntilNextPoll = async (batchLogId: number): Promise<number> => {
    const { rows } = await pool.query<{ s: number }>(
      'SELECT extract(epoch FROM next_poll_at - now())::float AS s FROM batch_jobs_vp_logs WHERE id = $1',
      [batchLogId],
    );
    return rows[0]!.s;
  };

  beforeAll(async () => {
    db = await createTestDatabase('poller');
    pool = createPool({ connectionString: db.url, log, applicationName: 'poller-test' });
    await migrate(pool, log);
    emulator = await startEmulator({ clock: CLOCK, now: () => now });
    provider = createOpenAIProvider({ apiKey: 'sk-poller-test-000000', baseURL: emulator.baseUrl });
    dir = await mkdtemp(join(tmpdir(), 'batchline-poller-'));
    deps = { pool, provider, schedule: SCHEDULE, maxAgeMs: 26 * 3_600_000, log, random: () => 0.5 };
  });

  afterAll(async () => {
    await emulator?.close();
    await pool?.end();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes one event per transition through to a terminal status, then stops polling the batch', async () => {
    const { batchLogId, providerBatchId } = await createBatch();
    expect(await check(batchLogId)).toBe('transition');
    expect(await check(batchLogId)).toBe('unchanged');
    now += CLOCK.validatingMs;
    expect(await check(batchLogId)).toBe('transition');
    now += CLOCK.inProgressMs;
    expect(await check(batchLogId)).toBe('transition');
    now += CLOCK.finalizingMs;
    expect(await check(batchLogId)).toBe('terminal');

    const events = await statusEvents(batchLogId);
    expect(events.map((e) => [e.previousProviderStatus, e.providerStatus, e.terminal, e.reason])).toEqual([
      [null, 'validating', false, null],
      ['validating', 'in_progress', false, null],
      ['in_progress', 'finalizing', false, null],
      ['finalizing', 'completed', true, 'completed'],
    ]);
    const terminal = events[3]!;
    expect(terminal).toMatchObject({ providerBatchId, requestCounts: { total: 2, completed: 2, failed: 0 } });
    expect(terminal.outputFileId).toMatch(/^file-/);
    expect(terminal.inputFileId).toMatch(/^file-/);

    // The next check follows the schedule (attempt n → the n-th delay, the last repeating, ±10 % jitter at 0.5).
    const { rows } = await pool.query(
      'SELECT provider_terminal_at, poll_attempt, lease_owner FROM batch_jobs_vp_logs WHERE id = $1',
      [batchLogId],
    );
    expect(rows[0]).toMatchObject({ poll_attempt: 5, lease_owner: null });
    expect(rows[0].provider_terminal_at).toBeInstanceOf(Date);
    const due = await leaseDueBatches(pool, { owner: 'x', limit: 100, leaseMs: 1000 });
    expect(due.map((b) => b.id)).not.toContain(batchLogId);
  });

  it('schedules the next check from the poll schedule', async () => {
    const { batchLogId } = await createBatch();
    await check(batchLogId);
    expect(await secondsUntilNextPoll(batchLogId)).toBeGreaterThan(110);
    expect(await secondsUntilNextPoll(batchLogId)).toBeLessThanOrEqual(120);
  });

  it('ends a batch the provider no longer knows with reason not_found', async () => {
    const batchLogId = await adopt('batch_does_not_exist');
    expect(await check(batchLogId)).toBe('terminal');
    expect(await statusEvents(batchLogId)).toEqual([
      expect.objectContaining({
        providerStatus: 'not_found',
        terminal: true,
        reason: 'not_found',
        outputFileId: null,
      }),
    ]);
  });

  it('reschedules on a 5xx without an event, recording the error', async () => {
    const { batchLogId, providerBatchId } = await createBatch();
    const fault = emulator.injectHttpFault({
      method: 'GET',
      path: new RegExp(`/v1/batches/${providerBatchId}$`),
      status: 503,
    });
    expect(await check(batchLogId)).toBe('rescheduled');
    expect(fault.hits).toBe(1);
    expect(await statusEvents(batchLogId)).toEqual([]);
    const { rows } = await pool.query(
      'SELECT last_poll_error, poll_attempt FROM batch_jobs_vp_logs WHERE id = $1',
      [batchLogId],
    );
    expect(rows[0].last_poll_error).toMatch(/503/);
    expect(await check(batchLogId)).toBe('transition');
  });

  it('waits at least Retry-After on a 429', async () => {
    const { batchLogId, providerBatchId } = await createBatch();
    emulator.injectHttpFault({
      method: 'GET',
      path: new RegExp(`/v1/batches/${providerBatchId}$`),
      status: 429,
      headers: { 'retry-after': '600' },
    });
    expect(await check(batchLogId)).toBe('rescheduled');
    expect(await secondsUntilNextPoll(batchLogId)).toBeGreaterThan(590);
  });

  it('cancels a batch past BATCH_MAX_AGE at the provider and ends it with reason max_age', async () => {
    const { batchLogId, providerBatchId } = await createBatch();
    expect(await check(batchLogId, { maxAgeMs: 0 })).toBe('terminal');
    expect(emulator.batch(providerBatchId)?.cancelRequestedAtMs).toBe(now);
    expect((await provider.getBatch(providerBatchId)).status).toBe('cancelling');
    expect(await statusEvents(batchLogId)).toEqual([
      expect.objectContaining({ terminal: true, reason: 'max_age', providerStatus: 'cancelling' }),
    ]);
  });

  it('does not record a check whose lease was taken over', async () => {
    const { batchLogId } = await createBatch();
    const stale = await leaseBatch(pool, batchLogId, { owner: 'a', leaseMs: 30_000 });
    await pool.query(
      "UPDATE batch_jobs_vp_logs SET lease_until = now() - interval '1 second' WHERE id = $1",
      [batchLogId],
    );
    await leaseBatch(pool, batchLogId, { owner: 'b', leaseMs: 30_000 });
    expect(await checkBatch(deps, stale!)).toBe('lease_lost');
    expect(await statusEvents(batchLogId)).toEqual([]);
  });
});
