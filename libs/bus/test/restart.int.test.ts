import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleStatusChangedEvent } from '@batchline/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type Bus, connectBus } from '../index.ts';
import { captureLogger, waitFor } from './support.ts';

/**
 * A private nats-server process (the same binary as the shared local server), so the test can kill -9 and restart
 * it without disturbing other tests.
 */
const serverBinary = process.env.NATS_SERVER_BIN ?? 'nats-server';
const serverAvailable = (() => {
  try {
    execFileSync(serverBinary, ['--version']);
    return true;
  } catch {
    return false;
  }
})();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const accepting = (port: number) => () =>
  new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });

describe.skipIf(!serverAvailable)('consumption across a NATS restart', () => {
  const storeDir = mkdtempSync(join(tmpdir(), 'batchline-nats-'));
  let server: ChildProcess | null = null;
  let bus: Bus | null = null;

  async function startServer(port: number): Promise<void> {
    server = spawn(serverBinary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: 'ignore',
    });
    await waitFor('nats-server to accept connections', accepting(port));
  }
  async function killServer(): Promise<void> {
    const proc = server!;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
    server = null;
  }

  afterAll(async () => {
    await bus?.drain();
    if (server) await killServer();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('keeps processing after the server is killed and restarted', async () => {
    const port = await freePort();
    await startServer(port);
    bus = await connectBus({
      servers: [`nats://127.0.0.1:${port}`],
      name: 'restart-test',
      log: captureLogger().log,
    });
    await bus.ensureTopology();
    const processed: number[] = [];
    bus.consume('fetcher', async (event) => {
      processed.push(event.batchLogId);
    });
    for (const id of [1, 2])
      await bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `s:${id}` });
    await waitFor('events before the restart', () => processed.length === 2);

    await killServer();
    await waitFor('the bus to notice', () => !bus!.status().connected);
    await startServer(port);
    await waitFor('the bus to reconnect', () => bus!.status().connected);

    for (const id of [3, 4])
      await bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `s:${id}` });
    await waitFor('events after the restart', () => processed.includes(3) && processed.includes(4), 20_000);
    expect([...new Set(processed)].sort()).toEqual([1, 2, 3, 4]);
    expect(bus.status()).toMatchObject({ connected: true, ready: true });
  });
});
