import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import { type BatchWebhook, WebhookSignatureError } from '@batchline/providers';
import { makeBatchDueNow } from './store/leases.ts';

/** The path OpenAI is configured to call. */
export const WEBHOOK_PATH = '/webhooks/openai';
/** OpenAI's webhook bodies are small; anything larger is not one. */
const MAX_BODY_BYTES = 256 * 1024;

export interface WebhookServer {
  port: number;
  close(): Promise<void>;
}

export interface WebhookServerOptions {
  port: number;
  /** Every interface by default (it sits behind an ingress); tests pass 127.0.0.1. */
  host?: string;
  pool: Pool;
  log: Logger;
  verify(body: string, headers: Record<string, string>): Promise<BatchWebhook | null>;
  /** A batch was made due now: wake the poll loop. */
  onBatchDue(batchLogId: number): void;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const answer = (res: ServerResponse, status: number, text: string) => {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
};

/**
 * Receives OpenAI's signed batch webhooks (`batch.completed`, `.failed`, `.expired`, `.cancelled`): a verified
 * one makes its batch due now, so that a poller checks it at once. Polling stays the source of truth: the
 * webhook only changes *when* the batch is checked, never what is recorded. A request that does not verify is
 * refused with 400 and changes nothing.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.log.error({ err: error }, 'webhook handling failed');
      if (!res.headersSent) answer(res, 500, 'error');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://poller').pathname;
    if (req.method !== 'POST' || path !== WEBHOOK_PATH) {
      req.resume();
      answer(res, 404, 'not found');
      return;
    }
    let body: string;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        answer(res, 413, 'body too large');
        return;
      }
      throw error;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(', ') : (value ?? ''),
      ]),
    );
    let event: BatchWebhook | null;
    try {
      event = await options.verify(body, headers);
    } catch (error) {
      if (error instanceof WebhookSignatureError) {
        options.log.warn({ reason: error.message }, 'webhook refused');
        answer(res, 400, 'signature does not verify');
        return;
      }
      throw error;
    }
    if (event) {
      const batchLogId = await makeBatchDueNow(options.pool, 'openai', event.batchId);
      options.log.info(
        { eventId: event.eventId, type: event.type, batchId: event.batchId, batchLogId },
        'webhook',
      );
      if (batchLogId !== null) options.onBatchDue(batchLogId);
    }
    answer(res, 200, 'ok');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
