import { type Bus, type BusBacklog, connectBus, PoisonMessageError } from '@batchline/bus';
import { opsErrorEvent, Subjects } from '@batchline/events';
import { silentLogger, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkQueue,
  deadLetterCondition,
  lagConditions,
  type QueueEpisodeOptions,
} from '../src/queue-episodes.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const TROUBLE_AFTER_MS = 300;

/** Low-severity ops messages for the notifier-ops consumer, one per name. */
async function publishOpsMessages(bus: Bus, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const message = opsErrorEvent({
      service: 'test',
      kind: 'provider_error',
      severity: 'low',
      message: name,
      provider: null,
      occurrenceKey: name,
    });
    await bus.publish(Subjects.opsError, message.payload, { msgId: message.msgId });
  }
}

describe('lagConditions and deadLetterCondition', () => {
  it('finds lagging consumers, and a growing DLQ from the shared reading', () => {
    const now: BusBacklog = {
      consumers: [
        { stream: 'BATCH_STATUS', consumer: 'fetcher', pending: 2, ackPending: 1 },
        { stream: 'BATCH_RESULTS', consumer: 'persister', pending: 0, ackPending: 0 },
      ],
      deadLetters: 5,
    };
    expect(lagConditions(now, 2).map(({ key, troubled }) => [key, troubled])).toEqual([
      ['queue:lag:fetcher', true],
      ['queue:lag:persister', false],
    ]);
    const grewAt = new Date('2026-12-06T01:00:00Z');
    const growing = deadLetterCondition({ value: 5, previous: 3, grewAt, growing: true });
    expect(growing).toMatchObject({ key: 'queue:dead_letters', troubled: true });
    expect(growing.what).toContain('5 dead letters, 2 since the last reading');
    expect(deadLetterCondition({ value: 5, previous: 5, grewAt, growing: false }).troubled).toBe(false);
    expect(deadLetterCondition({ value: 5, previous: null, grewAt: null, growing: false }).what).toContain(
      '(5 dead letters;',
    );
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
    intervalMs: 60_000,
  });
  const queueEvents = async () => (await world.opsEvents()).filter((event) => event.kind === 'queue');

  it('raises once while two replicas race, clears once when the consumer caught up', async () => {
    // Three messages nobody consumes yet: notifier-ops lags (more than 2 outstanding).
    await publishOpsMessages(bus, ['filler-1', 'filler-2', 'filler-3']);
    await checkQueue(options());
    expect((await bus.backlog()).consumers.find((entry) => entry.consumer === 'notifier-ops')).toMatchObject({
      pending: 3,
    });
    expect(await queueEvents()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, TROUBLE_AFTER_MS + 50));
    await Promise.all([checkQueue(options()), checkQueue(options())]);
    await checkQueue(options());
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
    await Promise.all([checkQueue(options()), checkQueue(options())]);
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
    await checkQueue(options());
    await new Promise((resolve) => setTimeout(resolve, TROUBLE_AFTER_MS + 50));
    await Promise.all([checkQueue(options()), checkQueue(options())]);
    const raised = await publishEvents();
    expect(raised.map((event) => event.occurrenceId)).toEqual(['queue:publishes:1:began']);
    expect(raised[0]!.message).toContain('1 committed events have waited more than 30 s');
    await world.pool.query('UPDATE outbox SET published_at = now() WHERE id = $1', [rows[0]!.id]);
    await Promise.all([checkQueue(options()), checkQueue(options())]);
    expect((await publishEvents()).map((event) => event.occurrenceId)).toEqual([
      'queue:publishes:1:began',
      'queue:publishes:1:over',
    ]);
  });
});

describe('queue trouble: a growing DLQ judged against the baseline in Postgres, one episode for two replicas', () => {
  let world: PollerWorld;
  const buses: Bus[] = [];
  const namespace = testNamespace('dlqepisodes');
  const WINDOW_MS = 600;

  beforeAll(async () => {
    world = await pollerWorld('poller_dlq_episodes');
    // Two poller replicas: each its own connection to NATS and its own pool, sharing the database.
    for (const name of ['dlq-replica-a', 'dlq-replica-b']) {
      const bus = await connectBus({ servers: [testNatsUrl()], name, namespace, log: silentLogger });
      await bus.ensureTopology();
      buses.push(bus);
    }
  });
  afterAll(async () => {
    await buses[0]?.deleteTopology();
    await Promise.all(buses.map((bus) => bus.drain()));
    await world?.close();
  });

  const replica = (bus: Bus): QueueEpisodeOptions => ({
    pool: world.pool,
    bus,
    log: silentLogger,
    troubleAfterMs: TROUBLE_AFTER_MS,
    lagMax: 1000,
    runbookUrl: 'https://runbook.example/runbook.md',
    intervalMs: WINDOW_MS,
  });
  const bothReplicasCheck = () => Promise.all(buses.map((bus) => checkQueue(replica(bus))));
  const dlqEvents = async () =>
    (await world.opsEvents())
      .filter((event) => event.episode?.key === 'queue:dead_letters')
      .map((event) => event.occurrenceId);

  /** Ops messages the notifier refuses as poison: each becomes a dead letter (the real path, not a copy). */
  const deadLetter = async (names: string[]) => {
    const [bus] = buses as [Bus];
    const before = (await bus.backlog()).deadLetters;
    const consumption = bus.consume('notifier-ops', async () => {
      throw new PoisonMessageError('refused by the test');
    });
    await publishOpsMessages(bus, names);
    await waitFor(
      'the dead letters kept',
      async () => (await bus.backlog()).deadLetters === before + names.length,
    );
    await consumption.stop();
  };

  it('raises once while the DLQ grows, whichever replica reads it, and clears once when it stops', async () => {
    await bothReplicasCheck();
    await deadLetter(['dead-1', 'dead-2']);
    // The first replica sees the growth against the stored baseline; the second, reading the same count, agrees.
    await bothReplicasCheck();
    expect(await dlqEvents()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, TROUBLE_AFTER_MS + 50));
    await deadLetter(['dead-3']);
    await bothReplicasCheck();
    await bothReplicasCheck();
    expect(await dlqEvents()).toEqual(['queue:dead_letters:1:began']);
    const began = (await world.opsEvents()).find(
      (event) => event.occurrenceId === 'queue:dead_letters:1:began',
    );
    expect(began?.message).toContain('the DLQ keeps growing (3 dead letters');

    // No growth for a whole reading interval: the episode is over, once.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 50));
    await bothReplicasCheck();
    await bothReplicasCheck();
    expect(await dlqEvents()).toEqual(['queue:dead_letters:1:began', 'queue:dead_letters:1:over']);
  });
});
