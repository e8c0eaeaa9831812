import { type StartedService, startService } from '@batchline/runtime';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  publishedOpsEvents,
  setDatabaseRefusing,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { persisterService } from '../src/service.ts';

const RUNBOOK = 'https://runbook.example/runbook.md';

describe('database trouble in the persister: announced once per episode across replicas, over once', () => {
  let db: MigratedTestDatabase;
  const replicas: StartedService[] = [];
  const namespace = testNamespace('persisterdb');

  beforeAll(async () => {
    db = await migratedTestDatabase('persister_db_trouble');
    for (const replica of ['a', 'b']) {
      replicas.push(
        await startService(persisterService, {
          DATABASE_URL: db.url,
          NATS_URL: testNatsUrl(),
          BATCHLINE_NAMESPACE: namespace,
          HEALTH_PORT: '0',
          LOG_LEVEL: 'silent',
          OPS_DATABASE_TROUBLE_AFTER: '300ms',
          OPS_RUNBOOK_URL: RUNBOOK,
          OTEL_SERVICE_NAME: `persister-${replica}`,
        }),
      );
    }
  });
  afterAll(async () => {
    await setDatabaseRefusing(db.url, false);
    await replicas[0]?.context.bus.deleteTopology();
    await Promise.all(replicas.map((replica) => replica.stop()));
    await db?.close();
  });

  const published = async () =>
    (await publishedOpsEvents(replicas[0]!.context.bus)).filter((event) => event.kind === 'database');

  it('Postgres refusing the replicas (their outbox relays fail) is one episode: began once, over once', async () => {
    // Each replica's pool has answered once (its relay's first round), so each knows the episode count.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await setDatabaseRefusing(db.url, true);
    try {
      await waitFor('the trouble announced', async () => (await published()).length > 0, {
        timeoutMs: 20_000,
      });
      // Both replicas keep failing past the threshold; the announcement stays one.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const during = await published();
      expect(during.map((event) => event.occurrenceId)).toEqual(['database:1:began']);
      expect(during[0]).toMatchObject({
        service: 'persister',
        severity: 'critical',
        episode: { key: 'database', number: 1, phase: 'began' },
        runbookUrl: `${RUNBOOK}#database-trouble`,
      });
    } finally {
      await setDatabaseRefusing(db.url, false);
    }
    await waitFor(
      'the end announced',
      async () => (await published()).some((event) => event.episode?.phase === 'over'),
      { timeoutMs: 45_000 },
    );
    // Both replicas recover; the second finds the episode recorded by the first and records nothing.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await published()).map((event) => event.occurrenceId)).toEqual([
      'database:1:began',
      'database:1:over',
    ]);
    const { rows } = await db.pool.query<{ episode: number; open: boolean }>(
      `SELECT episode, open FROM ops_episodes WHERE key = 'database'`,
    );
    expect(rows).toEqual([{ episode: 1, open: false }]);
  });
});
