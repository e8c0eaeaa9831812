import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitoringDataSchema, success } from '../src/api-schema.ts';
import { asReader, buildTestApp, seedBatcherQueue } from './support.ts';

const monitoring = async (app: FastifyInstance, query = '') => {
  const response = await app.inject({
    method: 'GET',
    url: `/api/admin/batch-monitoring?timeRange=24h${query}`,
    headers: asReader,
  });
  expect(response.statusCode).toBe(200);
  return success(MonitoringDataSchema).parse(response.json()).data;
};

describe("the batcher's queue in the admin API", () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_batcher_queue');
    app = await buildTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('is empty while nothing is queued', async () => {
    expect((await monitoring(app)).batcherQueue).toEqual([]);
  });

  it("shows each group as the batcher wrote it, its oldest request's age now, and whether the batcher is gone", async () => {
    await seedBatcherQueue(db.pool, [
      {
        jobType: 'sentiment',
        model: 'gpt-4o-mini',
        pending: 120,
        oldestAgeMinutes: 3,
        nextBatchDueInMinutes: 2,
        waitingFor: 'not_due',
      },
      {
        jobType: 'specific_viewpoint',
        model: 'gpt-4o',
        pending: 40,
        oldestAgeMinutes: 90,
        nextBatchDueInMinutes: 600,
        waitingFor: 'budget',
        budget: { dailyUsd: 20, spentTodayUsd: 19.5 },
      },
      {
        jobType: 'specific_viewpoint',
        model: 'gpt-4o-mini',
        pending: 7,
        oldestAgeMinutes: 30,
        nextBatchDueInMinutes: 0,
        waitingFor: null,
        updatedMinutesAgo: 10,
        freshMinutes: 2,
      },
    ]);
    const { batcherQueue } = await monitoring(app);
    expect(
      batcherQueue.map((group) => [
        group.jobType,
        group.model,
        group.pending,
        group.waitingFor,
        group.budget,
        group.stale,
      ]),
    ).toEqual([
      ['sentiment', 'gpt-4o-mini', 120, 'not_due', null, false],
      ['specific_viewpoint', 'gpt-4o', 40, 'budget', { dailyUsd: 20, spentTodayUsd: 19.5 }, false],
      ['specific_viewpoint', 'gpt-4o-mini', 7, null, null, true],
    ]);
    // Ages are counted on the database's clock, from the oldest request to now.
    expect(batcherQueue[1]!.oldestAgeSeconds).toBeGreaterThanOrEqual(90 * 60);
    expect(batcherQueue[1]!.oldestAgeSeconds).toBeLessThan(95 * 60);
    expect(Date.parse(batcherQueue[0]!.nextBatchDueAt!)).toBeGreaterThan(Date.now());
    expect(Date.parse(batcherQueue[2]!.updatedAt)).toBeLessThan(Date.now() - 9 * 60_000);
  });

  it('keeps to the job type asked for', async () => {
    const { batcherQueue } = await monitoring(app, '&jobType=sentiment');
    expect(batcherQueue.map((group) => group.jobType)).toEqual(['sentiment']);
  });
});
