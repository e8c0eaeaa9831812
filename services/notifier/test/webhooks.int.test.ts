import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  sampleJobFinalizedEvent,
  sentimentDeclaration,
  startWebhookReceiver,
  type WebhookReceiver,
  waitFor,
} from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { listDeliveries } from '../src/store/webhook-deliveries.ts';
import { type NotifierScenario, startScenario } from './harness.ts';

const DEFAULT_SECRET = 'whsec_ZGVmYXVsdC13ZWJob29rLXNlY3JldC1ieXRlcw==';
const SENTIMENT_SECRET = 'a plain-text secret for review_sentiment';
// The path carries a token, as many endpoints' URLs do: it must stay out of the logs too.
const URL_TOKEN = 'tok3n-9f8e7d6c5b4a';

/** A declaration file: review_sentiment with its own webhook, read from the two variables it names. */
function sentimentWithWebhook(): string {
  const dir = mkdtempSync(join(tmpdir(), 'batchline-hooks-'));
  const file = join(dir, 'review_sentiment.json');
  writeFileSync(
    file,
    JSON.stringify({
      ...sentimentDeclaration(),
      webhook: { urlEnv: 'SENTIMENT_HOOK_URL', secretEnv: 'SENTIMENT_HOOK_SECRET' },
    }),
  );
  return file;
}

interface DeliveryRow {
  event_id: string;
  endpoint: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
}

const deliveries = async (s: NotifierScenario): Promise<DeliveryRow[]> =>
  (
    await s.pool.query<DeliveryRow>(
      'SELECT event_id, endpoint, state, attempts, last_status, last_error FROM webhook_deliveries ORDER BY id',
    )
  ).rows;

async function allInState(s: NotifierScenario, count: number, state: string): Promise<DeliveryRow[]> {
  let rows: DeliveryRow[] = [];
  await waitFor(
    `${count} deliveries ${state}`,
    async () => {
      rows = await deliveries(s);
      return rows.length === count && rows.every((row) => row.state === state);
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  return rows;
}

const ids = (receiver: WebhookReceiver) => receiver.received.map((attempt) => attempt.id);

describe('outbound webhooks', () => {
  let s: NotifierScenario | undefined;
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    await s?.close();
    s = undefined;
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  async function receiver(secret: string): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(secret);
    receivers.push(started);
    return started;
  }

  it("delivers each event once to its job type's endpoint or the default one, signed, secrets kept out of logs", async () => {
    s = await startScenario('hooksonce');
    const general = await receiver(DEFAULT_SECRET);
    const sentiment = await receiver(SENTIMENT_SECRET);
    const env = {
      BATCHLINE_JOB_TYPES: sentimentWithWebhook(),
      BATCHLINE_WEBHOOK_URL: general.urlFor(`/hooks/${URL_TOKEN}`),
      BATCHLINE_WEBHOOK_SECRET: DEFAULT_SECRET,
      SENTIMENT_HOOK_URL: sentiment.urlFor(`/sentiment/${URL_TOKEN}`),
      SENTIMENT_HOOK_SECRET: SENTIMENT_SECRET,
    };
    // Two replicas share the work: still one delivery per event and endpoint.
    const replicas = [s.startNotifier(env), s.startNotifier(env)];
    const plain = [await s.newBatch(2), await s.newBatch(9), await s.newBatch(2)];
    const sentimental = await s.newBatch(2, 'review_sentiment');
    for (const batch of [...plain, sentimental]) {
      await s.publishFinal(
        batch,
        batch === plain[1] ? { status: 9, reason: 'failed', providerStatus: 'failed' } : {},
      );
    }
    await s.bus.publish('job.finalized', sampleJobFinalizedEvent(77, 'review_sentiment'), {
      msgId: 'job-finalized:77',
    });
    const rows = await allInState(s, 5, 'delivered');

    expect(rows.every((row) => row.attempts === 1 && row.last_status === 200)).toBe(true);
    expect(ids(general).sort()).toEqual(plain.map((batch) => `batch.finalized:${batch.id}`).sort());
    expect(ids(sentiment).sort()).toEqual([`batch.finalized:${sentimental.id}`, 'job.finalized:77']);
    for (const attempt of [...general.received, ...sentiment.received]) {
      expect(attempt.verified).toBe(true);
      expect(Number(attempt.timestamp)).toBeGreaterThan(1_700_000_000);
    }
    const job = sentiment.received.find((attempt) => attempt.id === 'job.finalized:77')!;
    expect(JSON.parse(job.body)).toMatchObject({
      type: 'job.finalized',
      data: { version: 1, batchJobId: 77, jobType: 'review_sentiment' },
    });
    const batch = general.received.find((attempt) => attempt.id === `batch.finalized:${plain[1]!.id}`)!;
    expect(JSON.parse(batch.body)).toMatchObject({
      type: 'batch.finalized',
      data: { version: 1, batchLogId: plain[1]!.id, status: 9 },
    });

    // A replay of an event (another NATS message id) is the same event: nothing more is delivered.
    await s.publishFinal(plain[0]!, {}, `replay:test:${plain[0]!.id}`);
    await waitFor(
      'the replayed event to be seen',
      () =>
        replicas.some((replica) =>
          replica.lines.some((line) => line.includes('its webhook delivery was recorded before')),
        ),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(await deliveries(s)).toHaveLength(5);
    expect(general.received).toHaveLength(3);

    const logs = replicas.flatMap((replica) => replica.lines).join('\n');
    for (const secret of [DEFAULT_SECRET, SENTIMENT_SECRET, URL_TOKEN]) expect(logs).not.toContain(secret);
    expect(logs).toContain('webhook delivered');
  }, 90_000);

  it('retries an endpoint that answered 500 and records one delivery', async () => {
    s = await startScenario('hooksretry');
    const endpoint = await receiver(DEFAULT_SECRET);
    endpoint.replyWith((_attempt, nth) => (nth === 1 ? 500 : undefined));
    s.startNotifier({
      BATCHLINE_WEBHOOK_URL: endpoint.url,
      BATCHLINE_WEBHOOK_SECRET: DEFAULT_SECRET,
      WEBHOOK_BACKOFF: '200ms',
    });
    const batch = await s.newBatch(2);
    await s.publishFinal(batch);
    const [row] = await allInState(s, 1, 'delivered');

    expect(row).toMatchObject({ attempts: 2, last_status: 200, last_error: null });
    expect(endpoint.received.map((attempt) => [attempt.id, attempt.status, attempt.verified])).toEqual([
      [`batch.finalized:${batch.id}`, 500, true],
      [`batch.finalized:${batch.id}`, 200, true],
    ]);
  }, 60_000);

  it('marks a delivery failed after its last attempt and announces it as an ops.error', async () => {
    s = await startScenario('hooksfail');
    const endpoint = await receiver(DEFAULT_SECRET);
    endpoint.setDown(true);
    const notifier = s.startNotifier({
      BATCHLINE_WEBHOOK_URL: endpoint.urlFor(`/hooks/${URL_TOKEN}`),
      BATCHLINE_WEBHOOK_SECRET: DEFAULT_SECRET,
      WEBHOOK_BACKOFF: '100ms',
      WEBHOOK_MAX_ATTEMPTS: '3',
    });
    const batch = await s.newBatch(2);
    await s.publishFinal(batch);
    const [row] = await allInState(s, 1, 'failed');
    expect(row).toMatchObject({ attempts: 3, last_status: null, endpoint: 'BATCHLINE_WEBHOOK_URL' });
    expect(row!.last_error).toMatch(/^could not reach the endpoint: /);

    // The operational message reaches Slack through the notifier's own ops.error consumer.
    await waitFor(
      'the failed webhook announced',
      () => s!.slack.accepted.some((message) => message.body.text?.includes('Webhook delivery failed')),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const announced = s.slack.accepted.find((message) =>
      message.body.text?.includes('Webhook delivery failed'),
    )!;
    expect(JSON.stringify(announced.body)).toContain(`batch.finalized:${batch.id}`);
    expect(JSON.stringify(announced.body)).not.toContain(URL_TOKEN);
    const listed = await listDeliveries(s.pool, { state: 'failed', limit: 10 });
    expect(listed).toMatchObject([{ eventId: `batch.finalized:${batch.id}`, attempts: 3, state: 'failed' }]);
    expect(notifier.lines.join('\n')).not.toContain(URL_TOKEN);
  }, 60_000);

  it('killed after the endpoint answered 2xx and before recording it: the same webhook-id again, one delivery recorded', async () => {
    s = await startScenario('hookscrash');
    const endpoint = await receiver(DEFAULT_SECRET);
    const env = {
      BATCHLINE_WEBHOOK_URL: endpoint.url,
      BATCHLINE_WEBHOOK_SECRET: DEFAULT_SECRET,
      WEBHOOK_TIMEOUT: '1s',
    };
    const first = s.startNotifier({ ...env, BATCHLINE_CRASHPOINT: 'notifier.after_webhook_2xx_before_mark' });
    const batch = await s.newBatch(2);
    await s.publishFinal(batch);
    expect(await first.exited).toBe('SIGKILL');

    s.startNotifier(env);
    const [row] = await allInState(s, 1, 'delivered');
    // The claim of the dead process ran out; the next attempt is the only other one (at least once, same id).
    expect(row!.attempts).toBe(2);
    expect(ids(endpoint)).toEqual([`batch.finalized:${batch.id}`, `batch.finalized:${batch.id}`]);
  }, 60_000);

  it('killed after recording a delivery and before acking its event: the redelivered event adds none', async () => {
    s = await startScenario('hooksack');
    const endpoint = await receiver(DEFAULT_SECRET);
    const env = { BATCHLINE_WEBHOOK_URL: endpoint.url, BATCHLINE_WEBHOOK_SECRET: DEFAULT_SECRET };
    const first = s.startNotifier({
      ...env,
      BATCHLINE_CRASHPOINT: 'notifier.after_webhook_record_before_ack',
    });
    const batch = await s.newBatch(2);
    await s.publishFinal(batch);
    expect(await first.exited).toBe('SIGKILL');

    const second = s.startNotifier(env);
    await allInState(s, 1, 'delivered');
    await waitFor(
      'the unacked event to be delivered again',
      () => second.lines.some((line) => line.includes('its webhook delivery was recorded before')),
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    expect(await deliveries(s)).toHaveLength(1);
    expect(ids(endpoint)).toEqual([`batch.finalized:${batch.id}`]);
  }, 90_000);
});
