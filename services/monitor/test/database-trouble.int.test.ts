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
import { monitorService } from '../src/service.ts';
import { OPERATOR_TOKEN } from './support.ts';

describe('database trouble in the monitor: each episode announced once, over once, across a restart', () => {
  let db: MigratedTestDatabase;
  let monitor: StartedService | undefined;
  const namespace = testNamespace('monitordb');

  const start = async () => {
    monitor = await startService(monitorService, {
      DATABASE_URL: db.url,
      NATS_URL: testNatsUrl(),
      BATCHLINE_NAMESPACE: namespace,
      MONITOR_PORT: '0',
      HEALTH_PORT: '0',
      ADMIN_TOKENS: OPERATOR_TOKEN,
      MONITOR_ALERT_INTERVAL: '100ms',
      LOG_LEVEL: 'silent',
      OPS_DATABASE_TROUBLE_AFTER: '300ms',
    });
    // The alert loop's first answered statement tells the watch how many episodes there were.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  };

  beforeAll(async () => {
    db = await migratedTestDatabase('monitor_db_trouble');
    await start();
  });
  afterAll(async () => {
    await setDatabaseRefusing(db.url, false);
    await monitor?.context.bus.deleteTopology();
    await monitor?.stop();
    await db?.close();
  });

  const published = async () =>
    (await publishedOpsEvents(monitor!.context.bus))
      .filter((event) => event.kind === 'database')
      .map((event) => event.occurrenceId);

  const episode = async (expected: string[]) => {
    await setDatabaseRefusing(db.url, true);
    try {
      await waitFor('the trouble announced', async () => (await published()).length === expected.length - 1);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await published()).toEqual(expected.slice(0, -1));
    } finally {
      await setDatabaseRefusing(db.url, false);
    }
    await waitFor('the end announced', async () => (await published()).length === expected.length, {
      timeoutMs: 30_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await published()).toEqual(expected);
  };

  it('announces the alert loop failing against a refusing Postgres, then its end; a restarted monitor numbers on', async () => {
    await episode(['database:1:began', 'database:1:over']);
    await monitor!.stop();
    await start();
    await episode(['database:1:began', 'database:1:over', 'database:2:began', 'database:2:over']);
  });
});
