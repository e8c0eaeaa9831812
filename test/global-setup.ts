import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureNats, ensurePostgres, type LocalServer } from '@batchline/local-servers';
import { createLogger } from '@batchline/logging';

/**
 * Compiles the CLI (cli/build.mjs), and makes `npm test` work on a fresh machine: use the Postgres and NATS that
 * answer (TEST_DATABASE_ADMIN_URL / NATS_URL, or the usual local ports), or start private ones for the run.
 * Workers inherit the resulting URLs.
 */
export default async function setup(): Promise<() => Promise<void>> {
  // The service processes the tests start run the compiled CLI, as production does; built from this tree now.
  execFileSync(process.execPath, [fileURLToPath(new URL('../cli/build.mjs', import.meta.url))], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const log = createLogger({ service: 'test-setup', level: 'warn', destination: process.stderr });
  const started: LocalServer[] = [];
  const postgres = await ensurePostgres({ url: process.env.TEST_DATABASE_ADMIN_URL, log });
  started.push(postgres);
  const nats = await ensureNats({ url: process.env.NATS_URL, log });
  started.push(nats);
  process.env.TEST_DATABASE_ADMIN_URL = postgres.url;
  process.env.NATS_URL = nats.url;
  return async () => {
    for (const server of started.reverse()) await server.stop();
  };
}
