import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { listenOnLoopback, readBody } from './loopback-server.ts';

/** One POST the receiver got, with its Standard Webhooks headers and whether its signature verified. */
export interface ReceivedWebhook {
  path: string;
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  /** The signature matched the secret (checked the way docs/events.md tells users to). */
  verified: boolean;
  /** The status the receiver answered. */
  status: number;
}

export interface WebhookReceiver {
  /** A URL on loopback; each path is a separate endpoint (`urlFor('/jobs')`). */
  url: string;
  urlFor(path: string): string;
  /** Every POST answered, whatever the answer (a down receiver records nothing). */
  received: ReceivedWebhook[];
  /** The answer for the next POSTs (return undefined for 200); unverified signatures always get 401. */
  replyWith(decide: ((attempt: ReceivedWebhook, nth: number) => number | undefined) | null): void;
  /** While on, the receiver is down: every connection is reset before an answer. */
  setDown(on: boolean): void;
  close(): Promise<void>;
}

/**
 * Verifies a Standard Webhooks signature header: any of its space-separated `v1,<base64>` entries is the
 * HMAC-SHA256 of `<id>.<timestamp>.<body>` under the secret (`whsec_<base64>`: its decoded bytes).
 */
export function verifyWebhookSignature(
  secret: string,
  headers: { id?: string; timestamp?: string; signature?: string },
  body: string,
): boolean {
  if (!headers.id || !headers.timestamp || !headers.signature) return false;
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
  const expected = createHmac('sha256', key).update(`${headers.id}.${headers.timestamp}.${body}`).digest();
  return headers.signature.split(' ').some((entry) => {
    const [version, mac] = entry.split(',');
    const given = Buffer.from(mac ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** An HTTP webhook endpoint on loopback that verifies each POST's signature with `secret`. */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let decide: ((attempt: ReceivedWebhook, nth: number) => number | undefined) | null = null;
  let down = false;
  const server = await listenOnLoopback(async (req, res) => {
    if (down) {
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    const attempt: ReceivedWebhook = {
      path: (req.url ?? '/').split('?')[0]!,
      id: header(req, 'webhook-id'),
      timestamp: header(req, 'webhook-timestamp'),
      signature: header(req, 'webhook-signature'),
      body,
      verified: false,
      status: 0,
    };
    attempt.verified = req.method === 'POST' && verifyWebhookSignature(secret, attempt, body);
    attempt.status = attempt.verified ? (decide?.(attempt, received.length + 1) ?? 200) : 401;
    received.push(attempt);
    res.writeHead(attempt.status, { 'content-type': 'text/plain' }).end(attempt.status < 300 ? 'ok' : 'no');
  });
  const { port } = server;
  const urlFor = (path: string) => `http://127.0.0.1:${port}${path}`;
  return {
    url: urlFor('/hooks/batchline'),
    urlFor,
    received,
    replyWith(next) {
      decide = next;
    },
    setDown(on) {
      down = on;
    },
    close: () => server.close(),
  };
}
