import type { AlertRaisedEvent, OpsErrorEvent } from '@batchline/events';
import { waitFor } from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { expectSlackPace, messagesNaming, type NotifierScenario, postsTo, startScenario } from './harness.ts';

const alert = (alertId: number, overrides: Partial<AlertRaisedEvent>): AlertRaisedEvent => ({
  alertId,
  condition: 'stuck_batches',
  severity: 'high',
  message: `alert ${alertId}`,
  value: 3,
  threshold: 1,
  batchLogIds: [],
  channels: ['slack'],
  windowMs: 3_600_000,
  raisedAt: new Date().toISOString(),
  suppressedUntil: new Date(Date.now() + 3_600_000).toISOString(),
  ...overrides,
});

async function settled(s: NotifierScenario, count: number): Promise<void> {
  await waitFor(
    `${count} messages settled`,
    async () => {
      const { rows } = await s.pool.query<{ settled: number; open: number }>(
        `SELECT count(*) FILTER (WHERE state IN ('sent', 'logged', 'failed'))::int AS settled,
                count(*) FILTER (WHERE state IN ('pending', 'sending'))::int AS open FROM notifications`,
      );
      return rows[0]!.settled === count && rows[0]!.open === 0;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

const stateOf = async (s: NotifierScenario, eventKey: string) =>
  (
    await s.pool.query('SELECT state, error_code, attempts FROM notifications WHERE event_key = $1', [
      eventKey,
    ])
  ).rows[0];

describe('notifier routing', () => {
  let s: NotifierScenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('routes by severity, records permanent refusals once and reports them through the other webhook', async () => {
    s = await startScenario('routing');
    const defaultPath = new URL(s.slack.url).pathname;
    // The default webhook's channel is gone: every post to it is refused for good.
    s.slack.replyWith((attempt) =>
      attempt.path === defaultPath ? { status: 404, body: 'channel_not_found' } : undefined,
    );
    s.startNotifier({ SLACK_CRITICAL_WEBHOOK_URL: s.criticalUrl });
    const completed = await s.newBatch();
    const failed = await s.newBatch(9);
    await s.publishFinal(completed);
    await s.publishFinal(failed, { status: 9, reason: 'max_age', providerStatus: 'in_progress' });
    await s.bus.publish('alert.raised', alert(1, { severity: 'critical' }), { msgId: 'alert:1' });
    await s.bus.publish('alert.raised', alert(2, { severity: 'high' }), { msgId: 'alert:2' });
    await s.bus.publish('alert.raised', alert(3, { severity: 'critical', channels: ['log'] }), {
      msgId: 'alert:3',
    });
    const opsError: OpsErrorEvent = {
      occurrenceId: 'provider_auth:openai:test',
      kind: 'provider_auth',
      severity: 'critical',
      service: 'poller',
      message: 'OpenAI answered 401 to every status check',
      provider: 'openai',
      batchLogId: null,
      providerBatchId: null,
      detail: '401 invalid_api_key',
      since: new Date(Date.now() - 600_000).toISOString(),
      nextStep: null,
      occurredAt: new Date().toISOString(),
    };
    await s.bus.publish('ops.error', opsError, { msgId: opsError.occurrenceId });
    await s.bus.publish(
      'ops.poller.summary',
      {
        poller: 'poller-a',
        periodStart: new Date(Date.now() - 3_600_000).toISOString(),
        periodEnd: new Date().toISOString(),
        batchesChecked: 10,
        checksFailed: 0,
        transitions: 4,
        batchesCompleted: 1,
        batchesFailed: 1,
        pendingBatches: 3,
      },
      { msgId: 'summary:1' },
    );
    // 2 finals, 3 alerts, 1 ops error, 1 summary, and the report of the default webhook's refusals.
    await settled(s, 8);

    const toDefault = postsTo(s.slack.attempts, s.slack.url);
    const toCritical = postsTo(s.slack.accepted, s.criticalUrl);
    // Every default-route message was tried exactly once: a refusal is not retried.
    expect(toDefault).toHaveLength(4);
    expect(new Set(toDefault.map((post) => post.body.text)).size).toBe(4);
    for (const key of [`final:${completed.id}`, `final:${failed.id}`, 'alert:2']) {
      expect(await stateOf(s, key)).toMatchObject({
        state: 'failed',
        error_code: 'channel_not_found',
        attempts: 1,
      });
    }
    const notified = await s.pool.query(
      'SELECT count(*)::int AS n FROM batch_jobs_vp_logs WHERE final_notified_at IS NOT NULL',
    );
    expect(notified.rows[0].n).toBe(0);

    // Critical messages went to the critical webhook, with the one report of the refusals.
    const criticalTexts = toCritical.map((post) => post.body.text!);
    expect(criticalTexts).toHaveLength(3);
    expect(
      criticalTexts.filter((text) => text.startsWith('[CRITICAL] Alert: Stuck batches: alert 1')),
    ).toHaveLength(1);
    expect(
      criticalTexts.filter((text) => text.startsWith('[CRITICAL] Provider authentication failed')),
    ).toHaveLength(1);
    const reports = criticalTexts.filter((text) =>
      text.includes('Slack refused a message on the default webhook'),
    );
    expect(reports).toHaveLength(1);
    expect(reports[0]).toContain('channel_not_found');

    // An alert for the log only is logged, never posted.
    expect(await stateOf(s, 'alert:3')).toMatchObject({ state: 'logged' });
    expect(s.slack.attempts.some((post) => post.body.text?.includes('alert 3'))).toBe(false);
    expectSlackPace(toDefault);
    expectSlackPace(postsTo(s.slack.attempts, s.criticalUrl));
  }, 90_000);

  it('logs every message exactly once when no webhook is set', async () => {
    s = await startScenario('nowebhook');
    const notifier = s.startNotifier({ SLACK_WEBHOOK_URL: undefined });
    const list = [await s.newBatch(), await s.newBatch()];
    for (const batch of list) await s.publishFinal(batch);
    for (const batch of list) await s.publishFinal(batch, {}, `finalized:${batch.id}:replay`);
    await settled(s, 2);
    await waitFor(
      'the replays to be seen',
      () => notifier.lines.filter((line) => line.includes('event seen again')).length === 2,
      { timeoutMs: 30_000 },
    );

    expect(s.slack.attempts).toHaveLength(0);
    for (const batch of list) {
      expect(await stateOf(s, `final:${batch.id}`)).toMatchObject({ state: 'logged', attempts: 1 });
      const logged = notifier.lines.filter(
        (line) =>
          line.includes('"slackMessage"') && line.includes(`Batch ${batch.providerBatchId} completed`),
      );
      expect(logged).toHaveLength(1);
      expect(messagesNaming(s.slack.accepted, batch)).toHaveLength(0);
    }
    const notified = await s.pool.query(
      'SELECT count(*)::int AS n FROM batch_jobs_vp_logs WHERE final_notified_at IS NOT NULL',
    );
    expect(notified.rows[0].n).toBe(2);
  }, 60_000);
});
