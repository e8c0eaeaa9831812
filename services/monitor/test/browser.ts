import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool } from '@batchline/db';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { MonitorAppDeps } from '../src/app.ts';
import { DEFAULT_DASHBOARD_DIR } from '../src/dashboard-assets.ts';
import { buildTestApp, OPERATOR_TOKEN } from './support.ts';

// The dashboard's browser tests' set-up: Debian's chromium, a signed-in page, a figure's exact value.

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../../.artifacts/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)`);
  });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** The monitor serving the built dashboard on a free port, and chromium to open it. */
export interface DashboardBed {
  app: FastifyInstance;
  address: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function dashboardBed(
  pool: Pool,
  overrides: Partial<MonitorAppDeps> = {},
): Promise<DashboardBed> {
  const app = await buildTestApp(pool, { dashboardDir: DEFAULT_DASHBOARD_DIR, ...overrides });
  try {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const browser = await launchChromium();
    return {
      app,
      address,
      browser,
      async close() {
        await browser.close();
        await app.close();
      },
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** Opens the dashboard on a laptop-sized screen and signs in; collects every page error. */
export async function signedIn(browser: Browser, address: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(address);
  await page.getByLabel('Admin token').fill(OPERATOR_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('metric-total-jobs').waitFor();
  return { page, errors };
}

export const figure = async (page: Page, id: string) =>
  Number(await page.getByTestId(`metric-${id}`).getAttribute('data-value'));
