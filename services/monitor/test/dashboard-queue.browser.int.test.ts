import { join } from 'node:path';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type DashboardBed, dashboardBed, signedIn } from './browser.ts';
import { seedBatcherQueue } from './support.ts';

describe("the batcher's queue on the dashboard in Debian chromium", () => {
  let db: MigratedTestDatabase;
  let bed: DashboardBed;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_dashboard_queue');
    await seedBatcherQueue(db.pool, [
      {
        jobType: 'specific_viewpoint',
        model: 'gpt-4o',
        pending: 1250,
        oldestAgeMinutes: 95,
        nextBatchDueInMinutes: 600,
        waitingFor: 'budget',
        budget: { dailyUsd: 20, spentTodayUsd: 19.5 },
      },
      {
        jobType: 'specific_viewpoint',
        model: 'gpt-4o-mini',
        pending: 8,
        oldestAgeMinutes: 2,
        nextBatchDueInMinutes: 3,
        waitingFor: 'not_due',
      },
      {
        jobType: 'sentiment',
        model: 'gpt-4o-mini',
        pending: 40,
        oldestAgeMinutes: 20,
        nextBatchDueInMinutes: null,
        paused: true,
        waitingFor: 'paused',
        updatedMinutesAgo: 10,
      },
    ]);
    bed = await dashboardBed(db.pool);
  });
  afterAll(async () => {
    await bed?.close();
    await db?.close();
  });

  it('lists pending requests per job type and model, the oldest age, the next batch, and what stops them', async () => {
    const { page, errors } = await signedIn(bed.browser, bed.address);
    const queue = page.getByTestId('queue-table');
    const budgeted = queue.getByTestId('queue-row-specific_viewpoint-openai-gpt-4o');
    await budgeted.waitFor();
    await expect(
      queue.getByTestId('queue-badge-specific_viewpoint-openai-gpt-4o').textContent(),
    ).resolves.toBe('budget reached: $19.50 of $20.00 today');
    await expect(budgeted.locator('[data-figure="pending"]').textContent()).resolves.toBe('1,250');
    await expect(budgeted.locator('[data-figure="oldest-age"]').textContent()).resolves.toMatch(
      /^1 h 3[5-9] min$/,
    );

    const waiting = queue.getByTestId('queue-row-specific_viewpoint-openai-gpt-4o-mini');
    await expect(waiting.getAttribute('data-waiting')).resolves.toBe('not_due');
    await expect(waiting.locator('[data-figure="next-batch-due"]').textContent()).resolves.not.toBe('—');

    const paused = queue.getByTestId('queue-row-sentiment-openai-gpt-4o-mini');
    await expect(queue.getByTestId('queue-badge-sentiment-openai-gpt-4o-mini').textContent()).resolves.toBe(
      'paused',
    );
    await expect(paused.locator('[data-figure="next-batch-due"]').textContent()).resolves.toBe('—');
    // Written ten minutes ago: the batcher is not running.
    await expect(
      queue.getByTestId('queue-stale-sentiment-openai-gpt-4o-mini').textContent(),
    ).resolves.toContain('batcher not running');
    await expect(queue.locator('[data-testid^="queue-stale-"]').count()).resolves.toBe(1);

    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard-queue.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
