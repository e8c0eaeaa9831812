import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQueueView } from '../src/queue-view.ts';
import { setPaused } from '../src/store/controls.ts';
import { type BatcherWorld, batcherWorld, defaultPolicy, JOB_TYPE, range } from './support.ts';

interface StatusRow {
  model: string;
  pending: number;
  oldest_enqueued_at: Date;
  next_batch_due_at: Date | null;
  paused: boolean;
  waiting_for: string | null;
  daily_budget_usd: string | null;
  spent_today_usd: string | null;
  fresh: boolean;
}

const statusRows = async (world: BatcherWorld) =>
  (
    await world.pool.query<StatusRow>(
      `SELECT model, pending, oldest_enqueued_at, next_batch_due_at, paused, waiting_for, daily_budget_usd,
              spent_today_usd, stale_after > updated_at AND updated_at > now() - interval '1 minute' AS fresh
       FROM batcher_group_status WHERE job_type = $1 ORDER BY model`,
      [JOB_TYPE],
    )
  ).rows;

const waiting = async (world: BatcherWorld) =>
  (await statusRows(world)).map((row) => [row.model, row.waiting_for, row.paused]);

/** Two hours on: every pending group has seen an interval firing (the default interval is an hour). */
const later = new Date(Date.now() + 2 * 3_600_000);

describe('the queue status the batcher writes at the end of each tick', () => {
  let world: BatcherWorld;
  /** Just after the last request came: no interval firing has passed since the groups began. */
  let justAfter: Date;
  beforeAll(async () => {
    world = await batcherWorld('batcher_queue_status');
    await world.enqueue(range(1, 3), undefined, 'gpt-4o-mini');
    await world.enqueue(range(11, 2), undefined, 'gpt-4o');
    const { rows } = await world.pool.query<{ last: Date }>(
      'SELECT max(enqueued_at) AS last FROM batcher_requests',
    );
    justAfter = new Date(rows[0]!.last.getTime() + 1);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('holds one row per pending group, as `batchline batcher status` sees the queue', async () => {
    const policy = { ...defaultPolicy, minSize: 10 };
    expect(await world.tick({ policyOf: () => policy, now: () => justAfter })).toEqual([]);
    const live = await readQueueView(world.pool, () => policy, justAfter);
    const rows = await statusRows(world);
    expect(
      rows.map((row) => ({
        model: row.model,
        pending: row.pending,
        oldest: row.oldest_enqueued_at.getTime(),
        due: row.next_batch_due_at?.getTime(),
      })),
    ).toEqual(
      live
        .map((group) => ({
          model: group.model,
          pending: group.pending,
          oldest: group.oldestEnqueuedAt.getTime(),
          due: group.nextBatchDueAt?.getTime(),
        }))
        .sort((a, b) => a.model.localeCompare(b.model)),
    );
    expect(
      rows.map((row) => [row.model, row.pending, row.waiting_for, row.fresh, row.daily_budget_usd]),
    ).toEqual([
      ['gpt-4o', 2, 'not_due', true, null],
      ['gpt-4o-mini', 3, 'not_due', true, null],
    ]);
    expect(rows.every((row) => row.next_batch_due_at! > justAfter)).toBe(true);
  });

  it('says why a due group waits: paused, batching disabled, the token ceiling', async () => {
    await setPaused(world.pool, JOB_TYPE, true);
    await world.tick({ now: () => later });
    expect(await waiting(world)).toEqual([
      ['gpt-4o', 'paused', true],
      ['gpt-4o-mini', 'paused', true],
    ]);
    expect((await statusRows(world)).map((row) => row.next_batch_due_at)).toEqual([null, null]);
    await setPaused(world.pool, JOB_TYPE, false);
    await world.tick({ now: () => later, enabled: false });
    expect(await waiting(world)).toEqual([
      ['gpt-4o', 'disabled', false],
      ['gpt-4o-mini', 'disabled', false],
    ]);
    expect(await world.tick({ now: () => later, maxEnqueuedTokens: 1 })).toEqual([]);
    expect(await waiting(world)).toEqual([
      ['gpt-4o', 'token_limit', false],
      ['gpt-4o-mini', 'token_limit', false],
    ]);
  });

  it('says a group stopped by its daily budget waits for the budget, with the figures, until tomorrow (UTC)', async () => {
    const policy = { ...defaultPolicy, dailyBudgetUsd: 0.000001 };
    expect(await world.tick({ policyOf: () => policy, now: () => later })).toEqual([]);
    const rows = await statusRows(world);
    expect(
      rows.map((row) => [row.model, row.waiting_for, row.daily_budget_usd, row.spent_today_usd]),
    ).toEqual([
      ['gpt-4o', 'budget', '0.000001', '0.000000'],
      ['gpt-4o-mini', 'budget', '0.000001', '0.000000'],
    ]);
    const tomorrow = Date.UTC(later.getUTCFullYear(), later.getUTCMonth(), later.getUTCDate() + 1);
    expect(rows.map((row) => row.next_batch_due_at?.getTime())).toEqual([tomorrow, tomorrow]);
  });

  it('deletes a group once its requests are all in batches, and keeps the others', async () => {
    const policy = { ...defaultPolicy, maxRequests: 3, minSize: 10 };
    const outcomes = await world.tick({ policyOf: () => policy, now: () => justAfter });
    expect(outcomes.map((o) => o.outcome)).toEqual(['recorded']);
    expect(await waiting(world)).toEqual([['gpt-4o', 'not_due', false]]);
    await world.tick({ now: () => later });
    expect(await statusRows(world)).toEqual([]);
  });
});
