import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAT_COMPLETIONS_URL } from '@batchline/domain';
import { type Emulator, startEmulator } from '@batchline/emulator';
import { builtInJobTypes } from '@batchline/job-types';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
import { type MigratedTestDatabase, migratedTestDatabase } from '@batchline/testing';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DASHBOARD_DIR } from '../src/dashboard-assets.ts';
import { ARTIFACTS, figure, launchChromium, signedIn } from './browser.ts';
import { buildTestApp, failed, ok, seedBatch, TEST_PRICES } from './support.ts';

describe('the dashboard in Debian chromium', () => {
  let db: MigratedTestDatabase;
  let emulator: Emulator;
  let provider: BatchProvider;
  let app: FastifyInstance;
  let address: string;
  let browser: Browser;
  let scratch: string;

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_dashboard');
    emulator = await startEmulator({ clock: { validatingMs: 50, inProgressMs: 600_000 } });
    provider = createOpenAIProvider({ apiKey: 'sk-emulated-dashboard-key', baseURL: emulator.baseUrl });
    app = await buildTestApp(db.pool, {
      providers: { openai: provider },
      dashboardDir: DEFAULT_DASHBOARD_DIR,
    });
    address = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
    scratch = await mkdtemp(join(tmpdir(), 'monitor-dashboard-'));
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await emulator?.close();
    await db?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('is readable before there are any batches', async () => {
    const { page, errors } = await signedIn(browser, address);
    expect(await figure(page, 'total-jobs')).toBe(0);
    await expect(
      page.getByTestId('metric-success-rate').locator('.metric-value').textContent(),
    ).resolves.toBe('—');
    await page.getByText('No batches in the last 24 hours. Submit one with').waitFor();
    await page.getByTestId('chart-throughput').getByText('No batches in the last 24 hours.').waitFor();
    await page.getByTestId('job-type-table').getByText('No batches in the last 24 hours.').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard-empty.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the figures, retries a batch’s failed requests and shows the new batch', async () => {
    // A batch of ten requests submitted to the (emulated) provider: seven succeeded, three failed.
    const context = {
      model: 'gpt-4o-mini',
      catalogue: [1, 2, 3, 4, 5].map((id) => ({ key: String(id), label: `viewpoint ${id}` })),
    };
    const lines = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify(
        builtInJobTypes().default.requestLine(
          'openai',
          { id: i + 1, fields: { text: `sentence ${i + 1}` } },
          context,
        ),
      ),
    );
    const path = join(scratch, 'input.jsonl');
    await writeFile(path, `${lines.join('\n')}\n`);
    const submitted = await provider.uploadAndCreateBatch({
      inputPath: path,
      endpoint: CHAT_COMPLETIONS_URL,
    });
    const results = [
      ...Array.from({ length: 7 }, () => ok(1200, 80)),
      failed('invalid_content', 1000, 200),
      failed('server_error'),
      failed('server_error'),
    ];
    const original = await seedBatch(db.pool, {
      name: 'original',
      ageMinutes: 45,
      model: 'gpt-4o-mini',
      state: 'completed',
      results,
      providerBatchId: submitted.id,
      inputFileId: submitted.inputFileId!,
    });
    const running = await seedBatch(db.pool, {
      name: 'running',
      ageMinutes: 10,
      model: 'gpt-4o-mini',
      state: 'processing',
      results: [],
      totalRequests: 25,
    });
    const price = TEST_PRICES['gpt-4o-mini'];
    const syncCost =
      (7 * 1200 * price.input + 7 * 80 * price.output + 1000 * price.input + 200 * price.output) / 1e6;

    const { page, errors } = await signedIn(browser, address);
    expect(await figure(page, 'total-jobs')).toBe(2);
    expect(await figure(page, 'success-rate')).toBe(70);
    await expect(
      page.getByTestId('metric-success-rate').locator('.metric-value').textContent(),
    ).resolves.toBe('70.0%');
    expect(await figure(page, 'error-rate')).toBe(30);
    expect(await figure(page, 'total-requests')).toBe(35);
    expect(await figure(page, 'cost-savings')).toBeCloseTo(syncCost / 2, 6);
    expect(await figure(page, 'batch-cost')).toBeCloseTo(syncCost / 2, 6);
    await expect(page.getByTestId(`job-row-${original}`).getAttribute('data-status')).resolves.toBe(
      'completed',
    );
    await expect(page.getByTestId(`job-row-${running}`).getAttribute('data-status')).resolves.toBe(
      'processing',
    );

    await page.getByTestId(`job-row-${original}`).getByRole('button', { name: 'Details' }).click();
    await page.getByTestId(`job-details-${original}`).getByText('server_error').waitFor();

    page.on('dialog', (dialog) => void dialog.accept());
    await page.getByTestId(`job-row-${original}`).getByRole('button', { name: 'Retry' }).click();
    const notice = page.getByTestId('notice');
    await notice.getByText(/submitted as batch log #\d+/).waitFor();
    const retryId = Number(/batch log #(\d+) \(3 requests\)/.exec((await notice.textContent()) ?? '')?.[1]);
    expect(retryId).toBeGreaterThan(running);

    const newRow = page.getByTestId(`job-row-${retryId}`);
    await newRow.waitFor();
    await expect(newRow.textContent()).resolves.toContain(`(retry of #${original})`);
    await expect(newRow.getAttribute('data-status')).resolves.toBe('pending');
    await expect(
      page.getByTestId(`job-row-${original}`).getByRole('button', { name: 'Retry' }).isDisabled(),
    ).resolves.toBe(true);
    await page.locator('[data-testid="metric-total-jobs"][data-value="3"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard.png'), fullPage: true });

    const { rows } = await db.pool.query(
      'SELECT batch_id, total_sentences FROM batch_jobs_vp_logs WHERE id = $1',
      [retryId],
    );
    expect(rows[0].total_sentences).toBe(3);
    expect(emulator.batch(rows[0].batch_id)).toBeDefined();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('breaks the figures down by job type, and filters the batches by one', async () => {
    // Besides the viewpoint batches of the test above (7 of 10 requests succeeded; one running, one retry
    // pending), a sentiment batch: 4 of 5 succeeded.
    const sentiment = await seedBatch(db.pool, {
      name: 'sentiment',
      ageMinutes: 20,
      model: 'gpt-4o-mini',
      jobType: 'review_sentiment',
      state: 'completed',
      results: [...Array.from({ length: 4 }, () => ok(1000, 100)), failed('unknown_label', 1000, 100)],
    });
    const price = TEST_PRICES['gpt-4o-mini'];
    const sentimentSyncCost = (5 * 1000 * price.input + 5 * 100 * price.output) / 1e6;

    const { page, errors } = await signedIn(browser, address);
    const table = page.getByTestId('job-type-table');
    await page.getByRole('heading', { name: 'By job type' }).waitFor();
    const rowNames = await table
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-testid')));
    expect(rowNames).toEqual(['job-type-row-review_sentiment', 'job-type-row-specific_viewpoint']);
    const cell = async (jobType: string, figure: string) =>
      Number(
        await page
          .getByTestId(`job-type-row-${jobType}`)
          .locator(`[data-figure="${figure}"]`)
          .getAttribute('data-value'),
      );
    expect(await cell('specific_viewpoint', 'batches')).toBe(3);
    expect(await cell('specific_viewpoint', 'succeeded')).toBe(7);
    expect(await cell('specific_viewpoint', 'failed')).toBe(3);
    expect(await cell('specific_viewpoint', 'success-rate')).toBe(70);
    expect(await cell('review_sentiment', 'batches')).toBe(1);
    expect(await cell('review_sentiment', 'succeeded')).toBe(4);
    expect(await cell('review_sentiment', 'failed')).toBe(1);
    expect(await cell('review_sentiment', 'success-rate')).toBe(80);
    expect(await cell('review_sentiment', 'throughput')).toBe(Number((5 / 24).toFixed(2)));
    expect(await cell('review_sentiment', 'batch-cost')).toBeCloseTo(sentimentSyncCost / 2, 6);
    expect(await cell('review_sentiment', 'saved')).toBeCloseTo(sentimentSyncCost / 2, 6);
    await expect(
      page.getByTestId('job-type-row-review_sentiment').locator('[data-figure="success-rate"]').textContent(),
    ).resolves.toBe('80.0%');
    expect(await figure(page, 'total-jobs')).toBe(4);

    // Choosing a job type filters the figures and the batches to it.
    await table.getByRole('button', { name: 'review_sentiment' }).click();
    await page.locator('[data-testid="metric-total-jobs"][data-value="1"]').waitFor();
    expect(await page.getByLabel('Job type').inputValue()).toBe('review_sentiment');
    const jobRows = await page
      .getByTestId('job-table')
      .locator('tbody tr[data-testid^="job-row-"]')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-testid')));
    expect(jobRows).toEqual([`job-row-${sentiment}`]);
    await expect(page.getByTestId(`job-row-${sentiment}`).textContent()).resolves.toContain(
      'review_sentiment',
    );
    expect(await table.locator('tbody tr').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard-job-types.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows each figure’s change since yesterday, the estimates of pending batches and the provider state', async () => {
    // Yesterday: one batch. Today (the tests above): four, of which two still pending.
    await seedBatch(db.pool, {
      name: 'yesterday',
      ageMinutes: 30 * 60,
      model: 'gpt-4o-mini',
      state: 'completed',
      results: [ok(1000, 100), ok(1000, 100)],
    });
    // The running batch: started 10 minutes ago, 10 of 25 done at the check 5 minutes ago.
    const { rows } = await db.pool.query(
      `UPDATE batch_jobs_vp_logs SET provider_started_at = now() - interval '10 minutes',
         last_checked_at = now() - interval '5 minutes',
         request_counts = '{"total": 25, "completed": 9, "failed": 1}'
       WHERE provider_status = 'in_progress' AND status = 1 RETURNING id`,
    );
    const running = Number(rows[0].id);
    // As the poller records a rate limit of OpenAI's.
    await db.pool.query(
      `INSERT INTO provider_pauses (provider, kind, needs_probe, paused_until, reason)
       VALUES ('openai', 'rate_limited', false, now() + interval '10 minutes', '429 Too Many Requests')`,
    );

    // An hourly rule with quiet hours on OpenAI only, and an alert of it held for its digest.
    await db.pool.query(
      `UPDATE alert_rules SET cadence = 'hourly', quiet_start_minute = 1320, quiet_end_minute = 420,
         provider = 'openai' WHERE condition = 'batch_failures'`,
    );
    const held = await db.pool.query(
      `INSERT INTO alerts (condition, severity, message, value, threshold, channels, window_ms, due_at)
       VALUES ('batch_failures', 'critical', '[provider openai] 1 batch(es) failed in the last 1h', 1, 1, '{slack}',
               3600000, date_trunc('hour', now()) + interval '1 hour') RETURNING id`,
    );

    const { page, errors } = await signedIn(browser, address);
    const trend = page.getByTestId('trend-total-jobs');
    await expect(trend.getAttribute('data-change')).resolves.toBe('3');
    await expect(trend.textContent()).resolves.toBe('+3 since yesterday');
    // 7 of 10 succeeded today (and 4 of 5 sentiment requests) against 2 of 2 yesterday.
    const successTrend = Number(await page.getByTestId('trend-success-rate').getAttribute('data-change'));
    expect(successTrend).toBeCloseTo((11 / 15) * 100 - 100, 1);
    await expect(page.getByTestId('trend-success-rate').textContent()).resolves.toMatch(
      /^−26\.7% since yesterday$/,
    );

    const estimate = page.getByTestId(`job-estimate-${running}`);
    await expect(estimate.getAttribute('data-basis')).resolves.toBe('progress');
    await expect(estimate.textContent()).resolves.toMatch(/\(from provider progress · 10\/25\)$/);

    const openai = page.getByTestId('provider-row-openai');
    await expect(openai.getAttribute('data-paused')).resolves.toBe('true');
    await expect(page.getByTestId('provider-state-openai').textContent()).resolves.toMatch(
      /^paused \(rate_limited: 429 Too Many Requests\) since .+, until .+$/,
    );
    await expect(page.getByTestId('provider-state-anthropic').textContent()).resolves.toBe('active');
    expect(Number(await openai.locator('[data-figure="batches"]').getAttribute('data-value'))).toBe(4);
    expect(
      Number(
        await page
          .getByTestId('model-row-openai-gpt-4o-mini')
          .locator('[data-figure="success-rate"]')
          .getAttribute('data-value'),
      ),
    ).toBe(73.33);
    await expect(page.getByTestId('alert-rule-batch_failures').textContent()).resolves.toBe(
      'batch_failures: hourly digest · quiet 22:00–07:00 UTC · provider openai',
    );
    await expect(page.getByTestId('alert-rule-high_error_rate').textContent()).resolves.toBe(
      'high_error_rate: at once',
    );
    await expect(page.getByTestId(`alert-delivery-${held.rows[0].id}`).textContent()).resolves.toContain(
      '· held for the digest due ',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard-trends.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('sets a rule’s cadence, quiet hours in a time zone and scope from its form, audited', async () => {
    const { page, errors } = await signedIn(browser, address);
    const form = page.getByTestId('rule-delivery-form');
    await form.getByLabel('Rule').selectOption('stuck_batches');
    await form.getByLabel('Cadence').selectOption('daily');
    await form.getByLabel('Quiet from').fill('21:30');
    await form.getByLabel('to', { exact: true }).fill('06:45');
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await form.getByLabel('Only jobs of type').fill('review_sentiment');
    await form.getByLabel('Only provider').selectOption('anthropic');
    await form.getByRole('button', { name: 'Save delivery' }).click();
    await page.getByText('Delivery of stuck_batches saved.').waitFor();
    await page
      .getByTestId('alert-rule-stuck_batches')
      .getByText(
        'stuck_batches: daily digest · quiet 21:30–06:45 Europe/Berlin · job type review_sentiment · provider anthropic',
      )
      .waitFor();
    const { rows } = await db.pool.query(
      `SELECT cadence, quiet_start_minute, quiet_end_minute, quiet_time_zone, job_type, provider
         FROM alert_rules WHERE condition = 'stuck_batches'`,
    );
    expect(rows).toEqual([
      {
        cadence: 'daily',
        quiet_start_minute: 21 * 60 + 30,
        quiet_end_minute: 6 * 60 + 45,
        quiet_time_zone: 'Europe/Berlin',
        job_type: 'review_sentiment',
        provider: 'anthropic',
      },
    ]);
    const audited = await db.pool.query(
      `SELECT outcome FROM audit_log WHERE action = 'alerts.update' ORDER BY id DESC LIMIT 1`,
    );
    expect(audited.rows).toEqual([{ outcome: 'success' }]);

    // Cleared again: at once, no quiet hours, any job type and provider.
    await form.getByLabel('Cadence').selectOption('immediate');
    await form.getByLabel('Quiet from').fill('');
    await form.getByLabel('Only jobs of type').fill('');
    await form.getByLabel('Only provider').selectOption('');
    await form.getByRole('button', { name: 'Save delivery' }).click();
    await page.getByTestId('alert-rule-stuck_batches').getByText('stuck_batches: at once').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'monitor-dashboard-rule-delivery.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
