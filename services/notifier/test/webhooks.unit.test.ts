import { ConfigError } from '@batchline/config';
import { JobTypeDeclaration } from '@batchline/job-types';
import { redactSecretsIn } from '@batchline/logging';
import {
  sampleBatchFinalizedEvent,
  sampleJobFinalizedEvent,
  sentimentDeclaration,
  verifyWebhookSignature,
} from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import {
  isLastAttempt,
  MAX_RETRY_DELAY_MS,
  outcomeOfError,
  outcomeOfStatus,
  retryDelayMs,
  webhookEventId,
} from '../src/webhooks/delivery-plan.ts';
import { resolveWebhookEndpoints } from '../src/webhooks/endpoints.ts';
import { webhookHeaders, webhookSignature } from '../src/webhooks/signature.ts';
import { webhookBody } from '../src/webhooks/webhook-intake.ts';

describe('webhook signatures (Standard Webhooks)', () => {
  it("matches the specification's test vector", () => {
    const signature = webhookSignature('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
    });
    expect(signature).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('verifies as docs/events.md tells receivers to, for any secret, and fails on any change', () => {
    for (const secret of ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'a plain text secret of some length']) {
      const signed = {
        id: 'batch.finalized:12',
        timestamp: 1_780_000_000,
        body: '{"type":"batch.finalized"}',
      };
      const headers = webhookHeaders(secret, signed);
      const seen = {
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
      };
      expect(headers['webhook-id']).toBe('batch.finalized:12');
      expect(verifyWebhookSignature(secret, seen, signed.body)).toBe(true);
      expect(verifyWebhookSignature(secret, seen, `${signed.body} `)).toBe(false);
      expect(verifyWebhookSignature(secret, { ...seen, timestamp: '1780000001' }, signed.body)).toBe(false);
      expect(verifyWebhookSignature('whsec_b3RoZXItc2VjcmV0LWJ5dGVz', seen, signed.body)).toBe(false);
    }
  });
});

describe('webhook delivery plan', () => {
  it('names each event once: per batch and per job', () => {
    expect(webhookEventId('batch.finalized', 7)).toBe('batch.finalized:7');
    expect(webhookEventId('job.finalized', 7)).toBe('job.finalized:7');
  });

  it('doubles the pause after each failed attempt, at most an hour', () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelayMs(attempts, 10_000))).toEqual([
      10_000, 20_000, 40_000, 80_000,
    ]);
    expect(retryDelayMs(40, 10_000)).toBe(MAX_RETRY_DELAY_MS);
  });

  it('delivers on 2xx only, and fails an attempt on any other answer', () => {
    expect(outcomeOfStatus(200)).toEqual({ kind: 'delivered', status: 200 });
    expect(outcomeOfStatus(204)).toEqual({ kind: 'delivered', status: 204 });
    for (const status of [301, 400, 401, 429, 500, 503]) {
      expect(outcomeOfStatus(status)).toEqual({
        kind: 'failed',
        status,
        error: `endpoint answered ${status}`,
      });
    }
  });

  it('describes a request that failed without the URL', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(outcomeOfError(timeout)).toEqual({
      kind: 'failed',
      status: null,
      error: 'no answer within WEBHOOK_TIMEOUT',
    });
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    });
    expect(outcomeOfError(refused)).toEqual({
      kind: 'failed',
      status: null,
      error: 'could not reach the endpoint: ECONNREFUSED',
    });
  });

  it('gives up after the last allowed attempt', () => {
    expect(isLastAttempt(2, 3)).toBe(false);
    expect(isLastAttempt(3, 3)).toBe(true);
  });

  it('POSTs the event as published, under its type and time', () => {
    const event = sampleBatchFinalizedEvent(5);
    expect(JSON.parse(webhookBody('batch.finalized', event.landedAt, event))).toEqual({
      type: 'batch.finalized',
      timestamp: event.landedAt,
      data: event,
    });
    const job = sampleJobFinalizedEvent(6);
    expect(JSON.parse(webhookBody('job.finalized', job.finalizedAt, job)).data).toEqual(job);
  });
});

describe('webhook endpoints', () => {
  const sentiment = {
    name: 'review_sentiment',
    declaration: JobTypeDeclaration.parse({
      ...sentimentDeclaration(),
      webhook: {
        urlEnv: 'SENTIMENT_HOOK_URL',
        secretEnv: 'SENTIMENT_HOOK_SECRET',
        events: ['job.finalized'],
      },
    }),
  };
  const env = {
    SENTIMENT_HOOK_URL: 'https://hooks.example.test/t0ken-in-path/sentiment',
    SENTIMENT_HOOK_SECRET: 'whsec_c2VudGltZW50LXNlY3JldC1ieXRlcw==',
  };
  const noDefault = { url: undefined, secret: undefined, events: [] };

  it("sends a job type's events to its own webhook, the others' to the default one", () => {
    const endpoints = resolveWebhookEndpoints(
      [sentiment],
      {
        url: 'http://127.0.0.1:9/default',
        secret: 'default-secret-of-16+',
        events: ['batch.finalized', 'job.finalized'],
      },
      env,
    );
    expect(endpoints.forEvent('job.finalized', 'review_sentiment')?.name).toBe('SENTIMENT_HOOK_URL');
    // Its own webhook takes only job.finalized: batch events of the job type go nowhere.
    expect(endpoints.forEvent('batch.finalized', 'review_sentiment')).toBeNull();
    expect(endpoints.forEvent('batch.finalized', 'specific_viewpoint')?.name).toBe('BATCHLINE_WEBHOOK_URL');
    expect(endpoints.forEvent('batch.finalized', null)?.name).toBe('BATCHLINE_WEBHOOK_URL');
    expect(endpoints.named('SENTIMENT_HOOK_URL')?.url).toBe(env.SENTIMENT_HOOK_URL);
    expect(endpoints.all.map((endpoint) => endpoint.name).sort()).toEqual([
      'BATCHLINE_WEBHOOK_URL',
      'SENTIMENT_HOOK_URL',
    ]);
  });

  it('sends nothing anywhere when no webhook is configured', () => {
    const endpoints = resolveWebhookEndpoints([], noDefault, {});
    expect(endpoints.forEvent('batch.finalized', null)).toBeNull();
    expect(endpoints.all).toEqual([]);
  });

  it('masks the URLs and secrets in every log text from then on', () => {
    resolveWebhookEndpoints([sentiment], noDefault, env);
    const text = `POST ${env.SENTIMENT_HOOK_URL} signed with ${env.SENTIMENT_HOOK_SECRET} failed`;
    expect(redactSecretsIn(text)).toBe('POST [REDACTED] signed with [REDACTED] failed');
  });

  it('stops the start naming the variable that is missing or bad, never its value', () => {
    const problems: [Record<string, string>, RegExp][] = [
      [
        { SENTIMENT_HOOK_SECRET: env.SENTIMENT_HOOK_SECRET },
        /^SENTIMENT_HOOK_URL: is not set \(job type review_sentiment/,
      ],
      [{ ...env, SENTIMENT_HOOK_URL: 'ftp://x.test/a' }, /^SENTIMENT_HOOK_URL: is not an http or https URL/],
      [{ SENTIMENT_HOOK_URL: env.SENTIMENT_HOOK_URL }, /^SENTIMENT_HOOK_SECRET: is not set/],
      [{ ...env, SENTIMENT_HOOK_SECRET: 'short' }, /^SENTIMENT_HOOK_SECRET: is shorter than 16 characters/],
    ];
    for (const [given, message] of problems) {
      expect(() => resolveWebhookEndpoints([sentiment], noDefault, given)).toThrow(ConfigError);
      expect(() => resolveWebhookEndpoints([sentiment], noDefault, given)).toThrow(message);
    }
    const defaultWithoutSecret = { url: 'http://127.0.0.1:9/default', secret: undefined, events: [] };
    expect(() => resolveWebhookEndpoints([], defaultWithoutSecret, {})).toThrow(
      /^BATCHLINE_WEBHOOK_SECRET: is not set \(BATCHLINE_WEBHOOK_URL signs with it\)/,
    );
  });

  it('refuses two job types sharing a URL variable with different secrets', () => {
    const other = {
      name: 'other_hooked',
      declaration: JobTypeDeclaration.parse({
        ...sentimentDeclaration(),
        name: 'other_hooked',
        webhook: { urlEnv: 'SENTIMENT_HOOK_URL', secretEnv: 'OTHER_HOOK_SECRET' },
      }),
    };
    expect(() =>
      resolveWebhookEndpoints([sentiment, other], noDefault, {
        ...env,
        OTHER_HOOK_SECRET: 'another-secret-16chars',
      }),
    ).toThrow(/^OTHER_HOOK_SECRET: signs for SENTIMENT_HOOK_URL in job type other_hooked/);
  });
});

describe('the webhook declaration', () => {
  it('defaults to both events and refuses a URL written in the declaration', () => {
    const declared = JobTypeDeclaration.parse({
      ...sentimentDeclaration(),
      webhook: { urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET' },
    });
    expect(declared.webhook?.events).toEqual(['batch.finalized', 'job.finalized']);
    const inline = JobTypeDeclaration.safeParse({
      ...sentimentDeclaration(),
      webhook: { urlEnv: 'https://hooks.example.test/x', secretEnv: 'HOOK_SECRET' },
    });
    expect(inline.success).toBe(false);
    const extra = JobTypeDeclaration.safeParse({
      ...sentimentDeclaration(),
      webhook: { urlEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', url: 'https://x.test' },
    });
    expect(extra.success).toBe(false);
  });
});
