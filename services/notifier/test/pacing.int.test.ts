import { waitFor } from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectOneMessagePerBatch,
  expectSlackPace,
  type NotifierScenario,
  pidOfInstance,
  startScenario,
  type TestBatch,
} from './harness.ts';

/** Waits until every recorded message is sent (nothing left that could still be posted). */
async function allSent(s: NotifierScenario, count: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${count} messages sent and nothing else due`,
    async () => {
      const { rows } = await s.pool.query<{ sent: number; other: number }>(
        `SELECT count(*) FILTER (WHERE state = 'sent')::int AS sent,
                count(*) FILTER (WHERE state <> 'sent')::int AS other FROM notifications`,
      );
      return rows[0]!.sent === count && rows[0]!.other === 0;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

async function batches(s: NotifierScenario, count: number): Promise<TestBatch[]> {
  const made: TestBatch[] = [];
  for (let i = 0; i < count; i++) made.push(await s.newBatch());
  return made;
}

/** Publishes final events whose landing times are one millisecond apart, in the given order. */
async function publishInOrder(s: NotifierScenario, list: readonly TestBatch[]): Promise<void> {
  const base = Date.now();
  for (const [i, batch] of list.entries()) {
    await s.publishFinal(batch, { landedAt: new Date(base + i).toISOString() });
  }
}

describe('notifier pacing against a loopback Slack', () => {
  let s: NotifierScenario | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('waits out a 429 storm for Retry-After, shared by two replicas; one message per batch, ≤ 1/s', async () => {
    s = await startScenario('storm');
    const list = await batches(s, 6);
    let rateLimited = 0;
    s.slack.replyWith(() => {
      if (rateLimited >= 5) return undefined;
      rateLimited += 1;
      return { status: 429, body: 'rate_limited', headers: { 'retry-after': '2' } };
    });
    s.startNotifier();
    s.startNotifier();
    await publishInOrder(s, list);
    await allSent(s, 6);

    expectOneMessagePerBatch(s.slack.accepted, list);
    expect(s.slack.accepted).toHaveLength(6);
    expectSlackPace(s.slack.attempts);
    // The first five attempts were answered 429 / Retry-After: 2; whichever replica tried next waited for it.
    const afterRateLimit = s.slack.attempts
      .slice(0, 5)
      .map((attempt, i) => s!.slack.attempts[i + 1]!.at - attempt.at);
    expect(afterRateLimit.filter((gap) => gap < 2_000)).toEqual([]);
    console.log(
      `429 storm: ${s.slack.attempts.length} POSTs, gaps after 429s: ${afterRateLimit.join(', ')} ms`,
    );
  }, 90_000);

  it('retries 5xx answers with backoff and keeps the order of occurrence', async () => {
    s = await startScenario('fivexx');
    const list = await batches(s, 6);
    let attempt = 0;
    s.slack.replyWith(() => {
      attempt += 1;
      if (attempt <= 3) return { status: [500, 503, 502][attempt - 1]!, body: 'rollup_error' };
      return attempt % 3 === 0 ? { status: 500, body: 'rollup_error' } : undefined;
    });
    s.startNotifier();
    await publishInOrder(s, list);
    await allSent(s, 6);

    expectOneMessagePerBatch(s.slack.accepted, list);
    expect(s.slack.accepted.map((m) => m.body.text!.split(' ')[1])).toEqual(
      list.map((b) => b.providerBatchId),
    );
    expectSlackPace(s.slack.attempts);
    const { rows } = await s.pool.query<{ attempts: number }>(
      'SELECT sum(attempts)::int AS attempts FROM notifications',
    );
    expect(rows[0]!.attempts).toBe(s.slack.attempts.length);
    expect(s.slack.attempts.length).toBeGreaterThan(6);
    const health = await s.pool.query('SELECT consecutive_failures, failing_since FROM slack_webhook_pacing');
    expect(health.rows).toContainEqual({ consecutive_failures: 0, failing_since: null });
  }, 90_000);

  it('shares one bucket between two replicas, survives a SIGKILL of the sender, and ignores a replay', async () => {
    s = await startScenario('replicas');
    const list = await batches(s, 16);
    s.startNotifier();
    s.startNotifier();
    await publishInOrder(s, list);
    await waitFor('five messages out', () => s!.slack.accepted.length >= 5, { timeoutMs: 60_000 });

    // Kill whichever replica sent last: the other has to take over the bucket (after the hold runs out).
    const { rows } = await s.pool.query<{ claimed_by: string }>(
      `SELECT claimed_by FROM notifications WHERE state = 'sent' ORDER BY sent_at DESC LIMIT 1`,
    );
    const victim = s.notifiers.find((n) => n.pid === pidOfInstance(rows[0]!.claimed_by))!;
    victim.kill('SIGKILL');
    await victim.exited;
    const survivor = s.notifiers.find((n) => n !== victim)!;
    await allSent(s, 16);

    // Killed between posting and recording, the victim's last post may go out again, flagged (reliability.md I4).
    expectOneMessagePerBatch(s.slack.accepted, list, { allowFlaggedRepeat: true });
    expectSlackPace(s.slack.attempts);
    const senders = await s.pool.query(`SELECT DISTINCT claimed_by FROM notifications WHERE state = 'sent'`);
    expect(senders.rowCount).toBe(2);

    // A replay of every event (new msg ids, so JetStream does not de-duplicate them) posts nothing new.
    const posted = s.slack.attempts.length;
    const linesBefore = survivor.lines.length;
    for (const batch of list) await s.publishFinal(batch, {}, `finalized:${batch.id}:replay`);
    await waitFor(
      'every replayed event to be seen',
      () => {
        const seenAgain = survivor.lines
          .slice(linesBefore)
          .filter((line) => line.includes('event seen again'))
          .map((line) => (JSON.parse(line) as { eventKey: string }).eventKey);
        return new Set(seenAgain).size === list.length;
      },
      { timeoutMs: 30_000 },
    );
    expect(s.slack.attempts.length).toBe(posted);
    console.log(
      `two replicas: ${s.slack.accepted.length} messages for ${list.length} batches, senders ${senders.rows.map((r) => r.claimed_by).join(', ')}`,
    );
  }, 90_000);
});
