import { join } from 'node:path';
import {
  entitiesJobTypes,
  type MigratedTestDatabase,
  migratedTestDatabase,
  type SeededJob,
  seedEntitiesJob,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type DashboardBed, dashboardBed, signedIn } from './browser.ts';
import { asReader } from './support.ts';

describe('jobs on the dashboard in Debian chromium', () => {
  let db: MigratedTestDatabase;
  let bed: DashboardBed;
  let job: SeededJob;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_dashboard_jobs');
    const { jobTypes, entities } = entitiesJobTypes();
    job = await seedEntitiesJob(db.pool, entities, 'dashboard');
    bed = await dashboardBed(db.pool, { jobTypes });
  });
  afterAll(async () => {
    await bed?.close();
    await db?.close();
  });

  it('lists a job with the figures the API gives, and opens its batches and requests', async () => {
    const { page, errors } = await signedIn(bed.browser, bed.address);
    const key = `job-${job.jobId}`;
    const row = page.getByTestId(`batch-job-row-${key}`);
    await row.waitFor();
    const cell = async (figure: string) =>
      Number(await row.locator(`[data-figure="${figure}"]`).getAttribute('data-value'));
    // The same figures as the admin API's detail answer (and `readBatchJobFigures`).
    const { data } = (
      await bed.app.inject({ method: 'GET', url: `/api/admin/batch-monitoring/${key}`, headers: asReader })
    ).json();
    expect([await cell('succeeded'), await cell('failed'), await cell('batches')]).toEqual([
      data.figures.succeededRequests,
      data.figures.failedRequests,
      data.figures.batches,
    ]);
    expect([await cell('succeeded'), await cell('failed'), await cell('batches')]).toEqual([3, 2, 3]);

    await row.getByRole('button', { name: key }).click();
    const detail = page.getByTestId('job-detail');
    await detail.getByTestId('job-detail-figures').getByText('3 of 5 requests succeeded').waitFor();
    await expect(detail.getByTestId('job-detail-figures').textContent()).resolves.toContain(
      'Failures: http_429 1, invalid_content 1.',
    );
    const batchRows = detail.getByTestId('job-detail-batches').locator('tbody tr');
    await expect(batchRows.allTextContents()).resolves.toEqual([
      expect.stringContaining('part 0'),
      expect.stringContaining('part 1'),
      expect.stringContaining(`retry round 1 of #${job.parts[1]}`),
    ]);
    await detail.getByTestId('request-ent-3').getByText('succeeded').waitFor();

    await detail.getByLabel('Request outcome').selectOption('failed');
    await detail.getByText('Page 1 of 1 (2 requests)').waitFor();
    await expect(detail.getByTestId('request-ent-4').textContent()).resolves.toContain(
      'the provider said http_429',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard-jobs.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
