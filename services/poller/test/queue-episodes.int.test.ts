import { type Bus, type BusBacklog, connectBus } from '@batchline/bus';
import { opsErrorEvent, Subjects } from '@batchline/events';
import { silentLogger, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkQueue, type QueueEpisodeOptions, queueConditions } from '../src/queue-episodes.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const TROUBLE_AFTER_MS = 300;

describe('queueConditions', () => {
  it('finds lagging consumers, and a growing DLQ only against a previous reading', () => {
    const now: BusBacklog = {
      consumers: [
        { stream: 'BATCH_STATUS', consumer: 'fetcher', pending: 2, ackPending: 1 },
        { stream: 'BATCH_RESULTS', consumer: 'persister', pending: 0, ackPending: 0 },
      ],
      deadLetters: 5,
    };
    expect(queueConditions(now, null, 2).map(({ key, troubled }) => [key, troubled])).toEqual([
      ['queue:lag:fetcher', true],
      ['queue:lag:persister', false],
    ]);
    const growing = queueConditions(now, { consumers: [], deadLetters: 3 }, 10).at(-1)!;
    expect(growing).toMatchObject({ key: 'queue:dead_letters', troubled: true });
    expect(growing.what).toContain('2 new');
    expect(queueConditions(now, now, 10).at(-1)).toMatchObject({ troubled: false });
  });
});

describe('queue trouble: a lagging consumer announced once per episode, and its end once', () => {
  let world: PollerWorld;
  let bus: Bus;
  const namespace = testNamespace('queueepisodes');

  beforeAll(async () => {
    world = await pollerWorld('poller_queue_episodes');
    bus = await connectBus({
      servers: [testNatsUrl()],
      name: 'queue-episodes-test',
      namespace,
      log: silentLogger,
    });
    await bus.ensureTopology();
  });
  afterAll(async () => {
    await bus?.deleteTopology();
    await bus?.drain();
    await world?.close();
  });

  const options = (): QueueEpisodeOptions => ({
    pool: world.pool,
    bus,
    log: silentLogger,
    troubleAfterMs: TROUBLE_AFTER_MS,
    lagMax: 2,
    runbookUrl: 'https://runbook.example/runbook.md',
  });
  const queueEvents = async () => (await world.opsEvents()).filter((event) => event.kind === 'queue');

  it('raises once while two replicas race, clears once when the consumer caught up', async () => {
    // Three messages nobody consumes yet: notifier-ops lags (more than 2 outstanding).
    for (const n of [1, 2, 3]) {
      const message = opsErrorEvent({
        service: 'test',
        kind: 'provider_error',
        severity: 'low',
        message: `filler ${n}`,
        provider: null,
        occurrenceKey: `filler-${n}`,
      });
      await bus.publish(Subjects.opsError, message.payload, { msgId: message.msgId });
    }
    const first = await checkQueue(options(), null);
    expect(first?.consumers.find((entry) => entry.consumer === 'notifier-ops')).toMatchObject({
      pending: 3,
    });
    expect(await queueEvents()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, TROUBLE_AFTER_MS + 50));
    await Promise.all([checkQueue(options(), first), checkQueue(options(), first)]);
    await checkQueue(options(), first);
    const raised = await queueEvents();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({
      occurrenceId: 'queue:lag:notifier-ops:1:began',
      severity: 'high',
      runbookUrl: 'https://runbook.example/runbook.md#queue-trouble',
    });
    expect(raised[0]!.message).toContain('notifier-ops has 3 messages outstanding');

    const consumption = bus.consume('notifier-ops', async () => undefined);
    await waitFor('the consumer caught up', async () => {
      const { consumers } = await bus.backlog();
      const ops = consumers.find((entry) => entry.consumer === 'notifier-ops');
      return ops !== undefined && ops.pending + ops.ackPending === 0;
    });
    await consumption.stop();
    await Promise.all([checkQueue(options(), first), checkQueue(options(), first)]);
    expect((await queueEvents()).map((event) => event.occurrenceId)).toEqual([
      'queue:lag:notifier-ops:1:began',
      'queue:lag:notifier-ops:1:over',
    ]);
  });

  it('announces failing publishes once (an event left in the outbox), and their end once', async () => {
    const publishEvents = async () =>
      (await queueEvents()).filter((event) => event.episode?.key === 'queue:publishes');
    // An event the relays have not managed to publish for a minute.
    const { rows } = await world.pool.query<{ id: string }>(
      `INSERT INTO outbox (subject, msg_id, payload, created_at)
       VALUES ('ops.error', 'ops:stuck-in-outbox', '{}'::jsonb, now() - interval '1 minute') RETURNING id`,
    );
    await checkQueue(options(), null);
    await new Promise((resolve) => setTimeout(resolve, TROUBLE_AFTER_MS + 50));
    await Promise.all([checkQueue(options(), null), checkQueue(options(), null)]);
    const raised = await publishEvents();
    expect(raised.map((event) => event.occurrenceId)).toEqual(['queue:publishes:1:began']);
    expect(raised[0]!.message).toContain('1 committed events have waited more than 30 s');
    await world.pool.query('UPDATE outbox SET published_at = now() WHERE id = $1', [rows[0]!.id]);
    await Promise.all([checkQueue(options(), null), checkQueue(options(), null)]);
    expect((await publishEvents()).map((event) => event.occurrenceId)).toEqual([
      'queue:publishes:1:began',
      'queue:publishes:1:over',
    ]);
  });
});
