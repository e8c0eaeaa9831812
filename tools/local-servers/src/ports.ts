import { createConnection, createServer } from 'node:net';

export const LOOPBACK_HOST = '127.0.0.1';

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it; another process could still take it). */
export function findFreeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : undefined;
      server.close(() =>
        port ? resolve(port) : reject(new Error('the OS did not report the port it picked')),
      );
    });
  });
}

/** Whether something accepts TCP connections on host:port. */
export function portAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A free loopback port, refusing one that already answers (a leftover server must never be mistaken for ours). */
export async function claimFreeLoopbackPort(): Promise<number> {
  const port = await findFreeLoopbackPort();
  if (await portAnswers(LOOPBACK_HOST, port)) {
    throw new Error(`port ${port} on ${LOOPBACK_HOST} already answers; refusing to start a server there`);
  }
  return port;
}
