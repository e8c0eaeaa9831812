import { waitFor } from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectOneMessagePerBatch,
  expectSlackPace,
  isPossibleRepeat,
  messagesNaming,
  type NotifierScenario,
  startScenario,
  type TestBatch,
} from './harness.ts';

async function allSent(s: NotifierScenario, count: number): Promise<void> {
  await waitFor(
    `${count} messages sent`,
    async () => {
      const { rows } = await s.pool.query<{ sent: number; other: number }>(
        `SELECT count(*) FILTER (WHERE state = 'sent')::int AS sent,
                count(*) FILTER (WHERE state <> 'sent')::int AS other FROM notifications`,
      );
      return rows[0]!.sent === count && rows[0]!.other === 0;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

async function threeBatchesPublished(s: NotifierScenario): Promise<TestBatch[]> {
  const list = [await s.newBatch(), await s.newBatch(), await s.newBatch()];
  const base = Date.now();
  for (const [i, batch] of list.entries()) {
    await s.publishFinal(batch, { landedAt: new Date(base + i).toISOString() });
  }
  return list;
}

describe('notifier killed with SIGKILL', () => {
  let s: NotifierScenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('after recording an event and before acking it: the redelivered event posts nothing more', async () => {
    s = await startScenario('crashack');
    const first = s.startNotifier({ BATCHLINE_CRASHPOINT: 'notifier.after_record_before_ack:2' });
    const list = await threeBatchesPublished(s);
    expect(await first.exited).toBe('SIGKILL');

    const second = s.startNotifier();
    await allSent(s, 3);
    // The second event was never acked: JetStream delivers it again (after ack_wait) to the new process.
    await waitFor(
      'the unacked event to be delivered again',
      () =>
        second.lines.some(
          (line) => line.includes('event seen again') && line.includes(`final:${list[1]!.id}`),
        ),
      { timeoutMs: 45_000, intervalMs: 250 },
    );
    expectOneMessagePerBatch(s.slack.accepted, list);
    expect(s.slack.accepted).toHaveLength(3);
    expectSlackPace(s.slack.attempts);
  }, 90_000);

  it('after Slack accepted a post and before it was recorded: one repeat at most, and it says so', async () => {
    s = await startScenario('crashpost');
    const first = s.startNotifier({ BATCHLINE_CRASHPOINT: 'notifier.after_slack_200_before_mark:2' });
    const list = await threeBatchesPublished(s);
    expect(await first.exited).toBe('SIGKILL');

    const second = s.startNotifier();
    await allSent(s, 3);
    // Webhooks have no idempotency key: this window is the one declared exception (reliability.md I4).
    expectOneMessagePerBatch(s.slack.accepted, list, { allowFlaggedRepeat: true });
    expect(messagesNaming(s.slack.accepted, list[0]!)).toHaveLength(1);
    const repeated = messagesNaming(s.slack.accepted, list[1]!);
    expect(repeated).toHaveLength(2);
    expect(isPossibleRepeat(repeated[1]!)).toBe(true);
    expect(messagesNaming(s.slack.accepted, list[2]!)).toHaveLength(1);
    expect(second.lines.some((line) => line.includes('may have reached Slack'))).toBe(true);
    expectSlackPace(s.slack.attempts);
  }, 90_000);
});
