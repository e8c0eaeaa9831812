import { listenOnLoopback, readBody } from './loopback-server.ts';

export interface ReceivedSlackMessage {
  /** Milliseconds since the epoch when the POST arrived. */
  at: number;
  path: string;
  body: { text?: string; blocks?: unknown[] } & Record<string, unknown>;
}

/** How the receiver answers one POST; the default is Slack's success (200, body `ok`). */
export interface SlackReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface SlackReceiver {
  /** A webhook URL on loopback, shaped like Slack's (`/services/T…/B…/…`). */
  url: string;
  /** Messages Slack accepted (answered 200). */
  accepted: ReceivedSlackMessage[];
  /** Every POST, whatever the answer. */
  attempts: ReceivedSlackMessage[];
  /** Decide the next answers (return undefined for success). */
  replyWith(decide: ((attempt: ReceivedSlackMessage) => SlackReply | undefined) | null): void;
  /**
   * While on, Slack is "gone": every connection is reset before an answer (nothing is recorded), as when the
   * host or the network path goes away.
   */
  setOutage(on: boolean): void;
  close(): Promise<void>;
}

/** A Slack incoming-webhook receiver on loopback that speaks the real protocol (JSON in, `ok` out). */
export async function startSlackReceiver(): Promise<SlackReceiver> {
  const accepted: ReceivedSlackMessage[] = [];
  const attempts: ReceivedSlackMessage[] = [];
  let decide: ((attempt: ReceivedSlackMessage) => SlackReply | undefined) | null = null;
  let outage = false;
  const server = await listenOnLoopback(async (req, res) => {
    if (outage) {
      req.socket.destroy();
      return;
    }
    const raw = await readBody(req);
    if (req.method !== 'POST') {
      res.writeHead(405).end('invalid_method');
      return;
    }
    let body: ReceivedSlackMessage['body'];
    try {
      body = JSON.parse(raw) as ReceivedSlackMessage['body'];
    } catch {
      res.writeHead(400).end('invalid_payload');
      return;
    }
    const attempt: ReceivedSlackMessage = { at: Date.now(), path: req.url ?? '/', body };
    attempts.push(attempt);
    if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) {
      res.writeHead(400).end('no_text');
      return;
    }
    const reply = decide?.(attempt);
    if (reply) {
      res.writeHead(reply.status, reply.headers).end(reply.body);
      return;
    }
    accepted.push(attempt);
    res.writeHead(200, { 'content-type': 'text/html' }).end('ok');
  });
  server.http.on('connection', (socket) => {
    if (outage) socket.destroy();
  });
  const { port } = server;
  return {
    url: `http://127.0.0.1:${port}/services/T000TEST/B000TEST/secretwebhooktoken0000`,
    accepted,
    attempts,
    replyWith(next) {
      decide = next;
    },
    setOutage(on) {
      outage = on;
    },
    close: () => server.close(),
  };
}
