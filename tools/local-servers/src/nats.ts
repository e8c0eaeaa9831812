import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '@batchline/logging';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { findExecutable, readFileTail, tail } from './executables.ts';
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

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Debian's nats-server package installs here, which is not on every user's PATH. */
const NATS_SERVER_EXTRA_DIRS = ['/usr/sbin'];
const PROBE_TIMEOUT_MS = 3_000;
const START_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 100;
/** How long a SIGTERM'd server may take to shut down before it is killed. */
const STOP_GRACE_MS = 10_000;
const STDERR_TAIL_CHARS = 2_000;

export interface EnsureNatsOptions {
  /** A server to use if it answers with JetStream (usually `NATS_URL`); defaults to the conventional local one. */
  url?: string;
  log: Logger;
}

/** A NATS server with JetStream: the given (or conventional local) one if usable, else a private `nats-server`. */
export async function ensureNats({ url, log }: EnsureNatsOptions): Promise<LocalServer> {
  const candidate = url ?? DEFAULT_NATS_URL;
  const probe = await probeNats(candidate);
  if (probe.ok) {
    log.info({ url: urlForLog(candidate) }, 'using the running NATS server');
    return existingServer(candidate);
  }
  const attempts = [`${urlForLog(candidate)}: ${probe.reason}`];
  if (url) {
    log.warn(
      { url: urlForLog(url), reason: probe.reason },
      'the given NATS server is not usable; starting a private one instead',
    );
  } else {
    log.info(
      { url: candidate, reason: probe.reason },
      'no NATS server with JetStream at the conventional address',
    );
  }

  const binary = await findExecutable('nats-server', NATS_SERVER_EXTRA_DIRS);
  if (binary) {
    try {
      return await startPrivateNats(binary, log);
    } catch (err) {
      attempts.push(`private nats-server (${binary}): ${failureReason(err)}`);
    }
  } else {
    attempts.push(`nats-server: not found on the PATH or in ${NATS_SERVER_EXTRA_DIRS.join(', ')}`);
  }
  throw new LocalServerUnavailableError(
    'NATS_UNAVAILABLE',
    attempts,
    'No NATS server with JetStream is available and none could be started',
    'Fix: set NATS_URL to a NATS server with JetStream enabled, or install the server (`apt-get install nats-server`).',
  );
}

/** Whether the server accepts a connection and answers a JetStream account-info request. */
export async function probeNats(url: string): Promise<ProbeResult> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: url, timeout: PROBE_TIMEOUT_MS, reconnect: false });
  } catch (err) {
    return { ok: false, reason: failureReason(err) };
  }
  try {
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: PROBE_TIMEOUT_MS });
    await jsm.getAccountInfo();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `it answers, but JetStream is not usable: ${failureReason(err)}` };
  } finally {
    await nc.close().catch(() => {});
  }
}

/** A child server process and a promise that settles (with a description) once it is gone. */
interface ServerProcess {
  child: ChildProcess;
  exited: Promise<string>;
  stderrTail(): string;
}

function spawnServer(binary: string, args: readonly string[]): ServerProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) =>
      resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    );
    // A process that could not be spawned at all never emits 'exit'.
    child.on('error', (err) => {
      if (child.pid === undefined) resolve(`could not be started: ${err.message}`);
    });
  });
  return { child, exited, stderrTail: () => stderr.trim() };
}

/** SIGTERM, then wait for the process's exit (forcing it after a grace period); only then may its files go. */
async function terminate({ child, exited }: ServerProcess): Promise<void> {
  const running = child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  if (running) {
    child.kill('SIGTERM');
    const forceKill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(forceKill);
  }
  await exited;
}

async function startPrivateNats(binary: string, log: Logger): Promise<LocalServer> {
  const port = await claimFreeLoopbackPort();
  const url = `nats://${LOOPBACK_HOST}:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'batchline-nats-'));
  const logFile = join(dir, 'nats-server.log');
  const args = ['-a', LOOPBACK_HOST, '-p', String(port), '-js', '-sd', dir, '-l', logFile];
  let server = spawnServer(binary, args);
  try {
    await waitUntilReady(url, server, logFile);
  } catch (err) {
    await terminate(server);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  log.info({ url, dataDir: dir, pid: server.child.pid }, 'started a private NATS server with JetStream');
  return {
    url,
    started: true,
    dataDir: dir,
    stop: stopOnce(async () => {
      await terminate(server);
      await rm(dir, { recursive: true, force: true });
      log.info({ url }, 'stopped the private NATS server');
    }),
    async halt(mode) {
      if (mode === 'crash') server.child.kill('SIGKILL');
      await terminate(server);
      log.info({ url, mode }, 'halted the private NATS server');
    },
    async resume() {
      if (server.child.exitCode === null && server.child.signalCode === null) return;
      // A leftover or foreign server on our port must never be mistaken for ours.
      if (await portAnswers(LOOPBACK_HOST, port)) {
        throw new Error(`port ${port} on ${LOOPBACK_HOST} already answers; refusing to resume NATS there`);
      }
      server = spawnServer(binary, args);
      await waitUntilReady(url, server, logFile);
      log.info({ url, pid: server.child.pid }, 'resumed the private NATS server');
    },
  };
}

async function waitUntilReady(url: string, server: ServerProcess, logFile: string): Promise<void> {
  let exitDescription: string | undefined;
  void server.exited.then((description) => {
    exitDescription = description;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastReason = 'not probed yet';
  while (Date.now() < deadline) {
    if (exitDescription) {
      throw new Error(`nats-server ${exitDescription}: ${await diagnostics(server, logFile)}`);
    }
    const probe = await probeNats(url);
    if (probe.ok) return;
    lastReason = probe.reason;
    await delay(READY_POLL_MS);
  }
  throw new Error(
    `nats-server did not accept JetStream requests within ${START_TIMEOUT_MS / 1000} s ` +
      `(last: ${lastReason}): ${await diagnostics(server, logFile)}`,
  );
}

async function diagnostics(server: ServerProcess, logFile: string): Promise<string> {
  const output = [server.stderrTail(), await readFileTail(logFile)].filter(Boolean).join('\n');
  return output ? tail(output, STDERR_TAIL_CHARS) : 'no output';
}
