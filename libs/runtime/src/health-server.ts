import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from '@batchline/metrics';

export interface HealthChecks {
  /** Whether the service is ready to take work: its connections are up and its consumers bound. */
  ready(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/healthz` (the process is alive), `/readyz` (its dependencies answer) and, given a registry, `/metrics`
 * (Prometheus text format) on a small HTTP port.
 */
export async function startHealthServer(
  port: number,
  checks: HealthChecks,
  metrics?: Registry,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      checks.ready().then(
        (result) => {
          res
            .writeHead(result.ready ? 200 : 503, { 'content-type': 'application/json' })
            .end(JSON.stringify({ status: result.ready ? 'ready' : 'not_ready', checks: result.checks }));
        },
        () => res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"not_ready"}'),
      );
      return;
    }
    if (path === '/metrics' && metrics) {
      metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
