import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build -w @batchline/monitor` (run by the root `prepare`, so by `npm ci`) writes the dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/dist/', import.meta.url));

export class DashboardMissingError extends Error {
  readonly code = 'DASHBOARD_NOT_BUILT';
  constructor(directory: string) {
    super(
      `the dashboard is not built (no ${join(directory, 'index.html')}): run npm ci, or npm run build -w @batchline/monitor`,
    );
    this.name = 'DashboardMissingError';
  }
}

/** Refuses to serve a dashboard that was never built, with the command that builds it. */
export async function assertDashboardBuilt(directory: string): Promise<void> {
  try {
    await access(join(directory, 'index.html'));
  } catch {
    throw new DashboardMissingError(directory);
  }
}
