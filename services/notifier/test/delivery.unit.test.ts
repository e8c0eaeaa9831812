import { silentLogger } from '@batchline/testing';
import { IncomingWebhookHTTPError, IncomingWebhookRequestError } from '@slack/webhook';
import { describe, expect, it } from 'vitest';
import { planDeliveries, routeForSeverity } from '../src/routing.ts';
import { classifyWebhookFailure, parseRetryAfterMs, webhookKeyOf } from '../src/slack-sink.ts';

const DEFAULT = 'https://hooks.slack.com/services/T1/B1/default';
const CRITICAL = 'https://hooks.slack.com/services/T1/B2/critical';

const plan = (defaultUrl?: string, criticalUrl?: string) =>
  planDeliveries({ defaultUrl, criticalUrl, timeoutMs: 1_000, log: silentLogger }).map((d) => ({
    destination: d.sink.label,
    routes: d.routes,
    refusalRoute: d.refusalRoute,
  }));

describe('routing', () => {
  it('sends critical messages to the critical route and everything else to the default', () => {
    expect(routeForSeverity('critical')).toBe('critical');
    for (const severity of ['high', 'medium', 'low'] as const)
      expect(routeForSeverity(severity)).toBe('default');
  });

  it('uses two webhooks when both are set, each reporting refusals through the other', () => {
    expect(plan(DEFAULT, CRITICAL)).toEqual([
      { destination: 'default webhook', routes: ['default'], refusalRoute: 'critical' },
      { destination: 'critical webhook', routes: ['critical'], refusalRoute: 'default' },
      { destination: 'log', routes: ['log'], refusalRoute: null },
    ]);
  });

  it('sends everything to the default webhook when no critical one is set, or the same URL is', () => {
    const expected = [
      { destination: 'default webhook', routes: ['default', 'critical'], refusalRoute: null },
      { destination: 'log', routes: ['log'], refusalRoute: null },
    ];
    expect(plan(DEFAULT)).toEqual(expected);
    expect(plan(DEFAULT, DEFAULT)).toEqual(expected);
  });

  it('logs what has no webhook', () => {
    expect(plan()).toEqual([
      { destination: 'log', routes: ['default', 'critical', 'log'], refusalRoute: null },
    ]);
    expect(plan(undefined, CRITICAL)).toEqual([
      { destination: 'log', routes: ['default', 'log'], refusalRoute: null },
      { destination: 'critical webhook', routes: ['critical'], refusalRoute: null },
    ]);
  });

  it('keys the pacing bucket by a hash of the URL, never the URL', () => {
    expect(webhookKeyOf(DEFAULT)).toMatch(/^webhook:[0-9a-f]{16}$/);
    expect(webhookKeyOf(DEFAULT)).not.toBe(webhookKeyOf(CRITICAL));
    expect(webhookKeyOf(DEFAULT)).not.toContain('default');
  });
});

describe('what a failed post means', () => {
  const now = Date.parse('2026-11-23T10:00:00.000Z');
  const http = (status: number, body: string) => new IncomingWebhookHTTPError(status, 'x', body);
  const request = (error: Error) => new IncomingWebhookRequestError(error);

  it('429: waits for Retry-After', () => {
    expect(classifyWebhookFailure(http(429, 'rate_limited'), '5', now)).toEqual({
      kind: 'rate_limited',
      retryAfterMs: 5_000,
      error: 'slack answered 429 rate_limited',
    });
    expect(classifyWebhookFailure(http(429, ''), null, now)).toMatchObject({ retryAfterMs: 30_000 });
  });

  it('5xx: transient, and Slack did not post it', () => {
    expect(classifyWebhookFailure(http(503, 'service_unavailable'), null, now)).toEqual({
      kind: 'transient',
      error: 'slack answered 503 service_unavailable',
      possiblyDelivered: false,
    });
  });

  it.each([
    [400, 'invalid_payload', 'invalid_payload'],
    [403, 'action_prohibited', 'action_prohibited'],
    [404, 'channel_not_found', 'channel_not_found'],
    [410, 'channel_is_archived', 'channel_is_archived'],
    [404, 'no_service', 'no_service'],
    [400, '<html>bad request</html>', 'http_400'],
  ])('%d %s: refused for good as %s', (status, body, code) => {
    expect(classifyWebhookFailure(http(status, body), null, now)).toMatchObject({ kind: 'refused', code });
  });

  it('a timeout may have posted; a refused connection did not', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(classifyWebhookFailure(request(timeout), null, now)).toEqual({
      kind: 'transient',
      error: 'slack did not answer in time',
      possiblyDelivered: true,
    });
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    expect(classifyWebhookFailure(request(refused), null, now)).toEqual({
      kind: 'transient',
      error: 'posting to slack failed: ECONNREFUSED',
      possiblyDelivered: false,
    });
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
    });
    expect(classifyWebhookFailure(request(reset), null, now)).toMatchObject({ possiblyDelivered: true });
  });

  it.each([
    ['7', 7_000],
    ['0.5', 500],
    ['Mon, 23 Nov 2026 10:00:30 GMT', 30_000],
    ['999999', 3_600_000],
    ['soon', null],
    [null, null],
  ])('reads Retry-After %j as %j ms', (value, ms) => {
    expect(parseRetryAfterMs(value, now)).toBe(ms);
  });
});
