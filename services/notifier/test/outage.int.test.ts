import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectOneMessagePerBatch,
  expectSlackPace,
  type NotifierScenario,
  startScenario,
  type TestBatch,
} from './harness.ts';

/** The Slack outage of issue 5: a minute without Slack while batches keep completing. */
const OUTAGE_MS = 60_000;
const COMPLETIONS = 30;

async function nothingDue(s: NotifierScenario, timeoutMs: number): Promise<void> {
  await waitFor(
    'every message sent (or listed in a sent digest)',
    async () => {
      const { rows } = await s.pool.query<{ open: number }>(
        `SELECT count(*)::int AS open FROM notifications WHERE state NOT IN ('sent', 'digested')`,
      );
      return rows[0]!.open === 0;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

describe('notifier through a Slack outage', () => {
  let s: NotifierScenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it(`loses nothing when Slack is down for ${OUTAGE_MS / 1000} s during ${COMPLETIONS} completions, and sends them in order afterwards`, async () => {
    s = await startScenario('outage');
    const list: TestBatch[] = [];
    for (let i = 0; i < COMPLETIONS; i++) list.push(await s.newBatch(i % 5 === 4 ? 9 : 2));
    let down = true;
    s.slack.replyWith(() => (down ? { status: 503, body: 'service_unavailable' } : undefined));
    const notifier = s.startNotifier({ SLACK_RETRY_SCHEDULE: '1s,2s,5s' });
    const outageStarted = Date.now();
    for (const [i, batch] of list.entries()) {
      await s.publishFinal(
        batch,
        i % 5 === 4 ? { status: 9, reason: 'expired', providerStatus: 'expired' } : {},
      );
      await sleep(1_000);
    }
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
    down = false;
    const healedAt = Date.now();
    await nothingDue(s, 60_000);

    expect(s.slack.accepted.every((message) => message.at >= healedAt)).toBe(true);
    expectOneMessagePerBatch(s.slack.accepted, list);
    // In order of occurrence: the batches' landing order.
    expect(s.slack.accepted.map((m) => m.body.text!.split(' ')[1])).toEqual(
      list.map((b) => b.providerBatchId),
    );
    expect(s.slack.accepted.map((m) => m.body.text!.split(' ')[2])).toEqual(
      list.map((_, i) => (i % 5 === 4 ? 'failed:' : 'completed:')),
    );
    expectSlackPace(s.slack.attempts);
    const { rows } = await s.pool.query<{ notified: number }>(
      'SELECT count(*)::int AS notified FROM batch_jobs_vp_logs WHERE final_notified_at IS NOT NULL',
    );
    expect(rows[0]!.notified).toBe(COMPLETIONS);
    // Operators hear of the outage through the log while Slack is down.
    expect(notifier.lines.some((line) => line.includes('slack webhook failing'))).toBe(true);
    const during = s.slack.attempts.filter((attempt) => attempt.at < healedAt).length;
    console.log(
      `outage: ${during} POSTs during ${OUTAGE_MS / 1000} s down, ${s.slack.accepted.length} messages in ${((Date.now() - healedAt) / 1000).toFixed(1)} s after`,
    );
  }, 180_000);

  it('sends one digest instead of a flood when more final statuses than the threshold are due', async () => {
    s = await startScenario('digest');
    const list: TestBatch[] = [];
    for (let i = 0; i < 12; i++) list.push(await s.newBatch());
    // Slack is down while the burst lands, so that the whole burst is due at once when it answers again.
    let down = true;
    s.slack.replyWith(() => (down ? { status: 503, body: 'service_unavailable' } : undefined));
    s.startNotifier({ SLACK_DIGEST_THRESHOLD: '5', SLACK_DIGEST_WINDOW: '1m' });
    for (const batch of list) await s.publishFinal(batch);
    await waitFor(
      'the burst to be recorded',
      async () => {
        const { rows } = await s!.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM notifications WHERE event_key LIKE 'final:%'`,
        );
        return rows[0]!.n === list.length;
      },
      // A bound for a loaded machine (the notifier process starts cold), not a timing assertion.
      { timeoutMs: 90_000 },
    );
    down = false;
    await nothingDue(s, 60_000);

    expectOneMessagePerBatch(s.slack.accepted, list);
    // Usually one digest of all twelve; a dispatcher that claimed while the burst was still being recorded may
    // have bundled fewer, and then the rest go out as they are due.
    const digests = s.slack.accepted.filter((message) =>
      /^Digest: \d+ batches finished/.test(message.body.text!),
    );
    expect(digests.length).toBeGreaterThanOrEqual(1);
    expect(s.slack.accepted.length).toBeLessThan(list.length);
    console.log(`digest: ${s.slack.accepted.length} messages for ${list.length} final statuses`);
    expectSlackPace(s.slack.attempts);
    const { rows } = await s.pool.query<{ notified: number }>(
      'SELECT count(*)::int AS notified FROM batch_jobs_vp_logs WHERE final_notified_at IS NOT NULL',
    );
    expect(rows[0]!.notified).toBe(list.length);
  }, 180_000);
});
