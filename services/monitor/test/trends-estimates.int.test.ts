import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitoringDataSchema, success } from '../src/api-schema.ts';
import { asOperator, type BatchSpec, buildTestApp, failed, ok, seedBatch } from './support.ts';

const HOUR = 60;

// Today (the 24h window) and yesterday (the 24h before it), two providers and three models.
const TODAY: BatchSpec[] = [
  {
    name: 'a',
    ageMinutes: 2 * HOUR,
    model: 'gpt-4o-mini',
    state: 'completed',
    results: [ok(100, 10), ok(100, 10)],
  },
  {
    name: 'b',
    ageMinutes: 3 * HOUR,
    model: 'gpt-4o',
    state: 'completed',
    results: [ok(100, 10), failed('invalid_content', 50, 5)],
  },
  {
    name: 'c',
    ageMinutes: 4 * HOUR,
    model: 'claude-haiku',
    provider: 'anthropic',
    state: 'failed',
    results: [failed('batch_expired')],
  },
];
const YESTERDAY: BatchSpec[] = [
  { name: 'y', ageMinutes: 30 * HOUR, model: 'gpt-4o-mini', state: 'completed', results: [ok(1000, 100)] },
];

describe('trends, breakdowns, provider state and estimates', () => {
  let db: MigratedTestDatabase;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_trends');
    let first = 1;
    for (const spec of [...TODAY, ...YESTERDAY]) {
      await seedBatch(db.pool, spec, first);
      first += 100;
    }
    app = await buildTestApp(db.pool);
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  const get = async (query = '') => {
    const response = await app.inject({ url: `/api/admin/batch-monitoring${query}`, headers: asOperator });
    expect(response.statusCode, response.body).toBe(200);
    expect(success(MonitoringDataSchema).safeParse(response.json()).error).toBeUndefined();
    return response.json().data;
  };

  it('gives each summary figure its value in the previous period and the change since', async () => {
    const data = await get('?timeRange=24h');
    expect(Date.parse(data.trends.previous.to)).toBe(Date.parse(data.window.from));
    expect(Date.parse(data.trends.previous.to) - Date.parse(data.trends.previous.from)).toBe(24 * 3_600_000);
    expect(data.trends.figures).toMatchObject({
      totalJobs: { previous: 1, change: 2 },
      completedJobs: { previous: 1, change: 1 },
      failedJobs: { previous: 0, change: 1 },
      totalRequests: { previous: 1, change: 4 },
      processedRequests: { previous: 1, change: 2 },
      failedRequests: { previous: 0, change: 2 },
      // 3 of 5 today against 1 of 1 yesterday.
      successRate: { previous: 100, change: -40 },
    });
    // Yesterday's cost: 1000 prompt and 100 completion tokens of gpt-4o-mini at half price.
    expect(data.trends.figures.batchCost.previous).toBeCloseTo((1000 * 0.15 + 100 * 0.6) / 1e6 / 2, 9);
    expect(data.trends.figures.batchCost.change).toBeCloseTo(
      data.summary.costSavings.batchCost - data.trends.figures.batchCost.previous,
      6,
    );
    // With a job type whose jobs are all today, the previous period is empty.
    const none = await get('?timeRange=1h');
    expect(none.trends.figures.totalJobs).toEqual({ previous: 0, change: 0 });
  });

  it('breaks the figures down by provider and by model', async () => {
    const data = await get('?timeRange=24h');
    expect(
      data.byProvider.map(
        (entry: { provider: string; summary: { totalJobs: number; successRate: number } }) => [
          entry.provider,
          entry.summary.totalJobs,
          entry.summary.successRate,
        ],
      ),
    ).toEqual([
      ['anthropic', 1, 0],
      ['openai', 2, 75],
    ]);
    expect(
      data.byModel.map((entry: { provider: string; model: string; summary: { totalJobs: number } }) => [
        entry.provider,
        entry.model,
        entry.summary.totalJobs,
      ]),
    ).toEqual([
      ['anthropic', 'claude-haiku', 1],
      ['openai', 'gpt-4o', 1],
      ['openai', 'gpt-4o-mini', 1],
    ]);
    const mini = data.byModel.find((entry: { model: string }) => entry.model === 'gpt-4o-mini');
    expect(mini.summary.costSavings.batchCost).toBeCloseTo((200 * 0.15 + 20 * 0.6) / 1e6 / 2, 9);
  });

  it('shows each provider paused or not, why and until when, and its last rate limit', async () => {
    const quiet = await get();
    expect(quiet.providers).toEqual([
      { provider: 'openai', paused: false, pause: null, lastRateLimit: null },
      { provider: 'anthropic', paused: false, pause: null, lastRateLimit: null },
    ]);
    // As the poller records them: OpenAI rate limited for another minute, Anthropic's key refused.
    await db.pool.query(
      `INSERT INTO provider_pauses (provider, kind, needs_probe, paused_until, reason, since) VALUES
       ('openai', 'rate_limited', false, now() + interval '1 minute', '429 Too Many Requests', now() - interval '10 seconds'),
       ('anthropic', 'auth', true, now() + interval '5 minutes', 'authentication_error', now() - interval '1 hour')`,
    );
    const paused = await get();
    const [openai, anthropic] = paused.providers;
    expect(openai).toMatchObject({
      provider: 'openai',
      paused: true,
      pause: { kind: 'rate_limited', reason: '429 Too Many Requests', needsProbe: false },
    });
    expect(openai.lastRateLimit).toEqual({ at: openai.pause.since, until: openai.pause.until });
    expect(anthropic).toMatchObject({
      paused: true,
      pause: { kind: 'auth', reason: 'authentication_error', needsProbe: true },
      lastRateLimit: null,
    });
    // A lapsed rate limit: not paused any more, still the last rate limit.
    await db.pool.query(
      `UPDATE provider_pauses SET paused_until = now() - interval '1 second' WHERE provider = 'openai'`,
    );
    const lapsed = (await get()).providers[0];
    expect(lapsed).toMatchObject({ paused: false, pause: null, lastRateLimit: { at: openai.pause.since } });
    await db.pool.query('DELETE FROM provider_pauses');
  });

  it("estimates each pending job's completion, from the provider's counts or the job type's history", async () => {
    const moving = await seedBatch(db.pool, {
      name: 'moving',
      ageMinutes: 30,
      model: 'gpt-4o-mini',
      state: 'processing',
      results: [],
      totalRequests: 100,
    });
    // Started 20 minutes ago, 50 of 100 done at the check 10 minutes ago: 10 more minutes after that check.
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET provider_started_at = now() - interval '20 minutes',
         last_checked_at = now() - interval '10 minutes',
         request_counts = '{"total": 100, "completed": 45, "failed": 5}' WHERE id = $1`,
      [moving],
    );
    const waiting = await seedBatch(db.pool, {
      name: 'waiting',
      ageMinutes: 10,
      model: 'gpt-4o-mini',
      state: 'pending',
      results: [],
      totalRequests: 7,
    });
    const data = await get('?timeRange=24h');
    const now = Date.parse(data.window.to);
    const job = (id: number) => data.jobs.find((candidate: { id: number }) => candidate.id === id);
    expect(job(moving)).toMatchObject({
      estimateBasis: 'progress',
      providerProgress: { done: 50, total: 100 },
    });
    expect(Math.abs(Date.parse(job(moving).estimatedCompletionAt) - now)).toBeLessThan(2000);
    // The completed specific_viewpoint batches took 2, 3 and 30 hours from submission to landing (seeded that old,
    // landed now): median 3 hours from its submission 10 minutes ago.
    expect(job(waiting)).toMatchObject({ estimateBasis: 'history', providerProgress: null });
    const fromNow = Date.parse(job(waiting).estimatedCompletionAt) - now;
    expect(Math.abs(fromNow - 170 * 60_000)).toBeLessThan(5000);
    // Older than every batch in the history: no estimate.
    await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET created_at = now() - interval '31 hours' WHERE id = $1`,
      [waiting],
    );
    const later = await get('?timeRange=7d');
    expect(later.jobs.find((candidate: { id: number }) => candidate.id === waiting)).toMatchObject({
      estimatedCompletionAt: null,
      estimateBasis: null,
    });
    // Final jobs have none.
    for (const final of later.jobs.filter((j: { status: string }) => j.status === 'completed')) {
      expect(final.estimatedCompletionAt).toBeNull();
    }
  });
});
