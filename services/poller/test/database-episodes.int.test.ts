import { type Bus, connectBus } from '@batchline/bus';
import { createPool, type Pool } from '@batchline/db';
import { watchPool } from '@batchline/runtime';
import {
  publishedOpsEvents,
  setDatabaseRefusing,
  silentLogger,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PollLoop, startPollLoop } from '../src/poll-loop.ts';
import { type PollerWorld, pollerWorld } from './support.ts';

const TROUBLE_AFTER_MS = 400;
const RUNBOOK = 'https://runbook.example/runbook.md';

describe('database trouble: one message when an episode begins, one when it is over', () => {
  let world: PollerWorld;
  let bus: Bus;
  const pools: Pool[] = [];
  const loops: PollLoop[] = [];
  const namespace = testNamespace('dbepisodes');

  beforeAll(async () => {
    world = await pollerWorld('poller_db_episodes');
    bus = await connectBus({
      servers: [testNatsUrl()],
      name: 'db-episodes-test',
      namespace,
      log: silentLogger,
    });
    await bus.ensureTopology();
  });
  afterAll(async () => {
    await Promise.all(loops.map((loop) => loop.stop()));
    await Promise.all(pools.map((pool) => pool.end()));
    await bus?.deleteTopology();
    await bus?.drain();
    await world?.close();
  });

  /** A poller replica: its own pool (watched, as the runtime watches every service's) and poll loop. */
  const startReplica = (owner: string) => {
    const url = (world.pool.options as { connectionString: string }).connectionString;
    const pool = createPool({ connectionString: url, log: silentLogger, max: 4, applicationName: owner });
    pools.push(pool);
    watchPool({
      service: 'poller',
      pool,
      bus,
      log: silentLogger,
      troubleAfterMs: TROUBLE_AFTER_MS,
      runbookUrl: RUNBOOK,
    });
    loops.push(
      startPollLoop({
        ...world.deps,
        pool,
        owner,
        chunk: 5,
        tickMs: 50,
        leaseMs: 30_000,
        onChanges() {},
      }),
    );
    return url;
  };

  const published = () => publishedOpsEvents(bus);
  const outboxed = async () =>
    (
      await world.pool.query<{ msg_id: string }>(
        `SELECT msg_id FROM outbox WHERE subject = 'ops.error' AND payload->>'kind' = 'database' ORDER BY id`,
      )
    ).rows.map((row) => row.msg_id);

  it('two replicas announce the outage once while Postgres refuses, and its end once', async () => {
    const url = startReplica('replica-a');
    startReplica('replica-b');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await setDatabaseRefusing(url, true);
    try {
      await waitFor('the outage announced', async () => (await published()).length > 0, {
        timeoutMs: 10_000,
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const during = await published();
      expect(during).toHaveLength(1);
      expect(during[0]).toMatchObject({
        occurrenceId: 'database:1:began',
        kind: 'database',
        severity: 'critical',
        episode: { key: 'database', number: 1, phase: 'began' },
        runbookUrl: `${RUNBOOK}#database-trouble`,
      });
    } finally {
      await setDatabaseRefusing(url, false);
    }
    await waitFor('the outage recorded', async () => (await outboxed()).length === 2, { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await outboxed()).toEqual(['ops:database:1:began', 'ops:database:1:over']);
    expect(await published()).toHaveLength(1);
  });
});
