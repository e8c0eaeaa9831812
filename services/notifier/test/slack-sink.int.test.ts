import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SlackReceiver, startSlackReceiver } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webhookSink } from '../src/slack-sink.ts';

const message = { text: 'Batch batch_1 completed: 1/1 requests succeeded', blocks: [] };

describe('webhook sink against a loopback Slack', () => {
  let slack: SlackReceiver;
  let hanging: Server;
  let hangingUrl: string;

  beforeAll(async () => {
    slack = await startSlackReceiver();
    // Reads the request, never answers (SL5).
    hanging = createServer((req) => req.resume());
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/services/T/B/hang`;
  });
  afterAll(async () => {
    await slack?.close();
    hanging?.closeAllConnections();
    await new Promise((resolve) => hanging?.close(resolve));
  });

  it('posts text and blocks once, without retrying', async () => {
    const sink = webhookSink({ url: slack.url, label: 'default webhook', timeoutMs: 2_000 });
    expect(await sink.post({ ...message, blocks: [{ type: 'divider' }] })).toEqual({
      kind: 'delivered',
      via: 'slack',
    });
    expect(slack.accepted.at(-1)!.body).toEqual({ text: message.text, blocks: [{ type: 'divider' }] });

    slack.replyWith(() => ({ status: 429, body: 'rate_limited', headers: { 'retry-after': '4' } }));
    const attemptsBefore = slack.attempts.length;
    expect(await sink.post(message)).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 4_000,
      error: 'slack answered 429 rate_limited',
    });
    slack.replyWith(() => ({ status: 404, body: 'channel_not_found' }));
    expect(await sink.post(message)).toMatchObject({ kind: 'refused', code: 'channel_not_found' });
    slack.replyWith(null);
    expect(slack.attempts.length - attemptsBefore).toBe(2);
  });

  it('gives up on a webhook that never answers after its timeout, as possibly delivered', async () => {
    const sink = webhookSink({ url: hangingUrl, label: 'default webhook', timeoutMs: 300 });
    expect(await sink.post(message)).toEqual({
      kind: 'transient',
      error: 'slack did not answer in time',
      possiblyDelivered: true,
    });
  });

  it('reports a refused connection as not delivered, without the URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/services/T/B/secret-path`;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await webhookSink({ url, label: 'default webhook', timeoutMs: 1_000 }).post(message);
    expect(outcome).toEqual({
      kind: 'transient',
      error: 'posting to slack failed: ECONNREFUSED',
      possiblyDelivered: false,
    });
  });
});
