import { type Bus, connectBus } from '@batchline/bus';
import { enqueuedRequestMsgId, Subjects } from '@batchline/events';
import { builtInJobTypes } from '@batchline/job-types';
import { type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  silentLogger,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { intakeHandler } from '../src/intake.ts';
import { JOB_TYPE, range } from './support.ts';

const request = (id: number, text = `Sentence ${id} is fine — très bien.`) => ({
  jobType: JOB_TYPE,
  requestId: id,
  fields: { text },
});

const queued = async (db: MigratedTestDatabase) =>
  (
    await db.pool.query<{ request_id: string; line: string; line_bytes: number; xmin: string }>(
      'SELECT request_id, line, line_bytes, xmin::text FROM batcher_requests ORDER BY id',
    )
  ).rows;

describe('batcher intake: group commit', () => {
  let db: MigratedTestDatabase;
  let bus: Bus;
  let batcher: ServiceProcess | undefined;
  beforeAll(async () => {
    db = await migratedTestDatabase('batcher_group_intake');
    bus = await connectBus({
      servers: [testNatsUrl()],
      name: 'batcher-group-intake',
      namespace: testNamespace('batchergroup'),
      log: silentLogger,
    });
    await bus.ensureTopology();
  });
  /** The batcher as a process of its own, taking requests in but making no batch. */
  const batcherEnv = () => ({
    ...process.env,
    DATABASE_URL: db.url,
    NATS_URL: testNatsUrl(),
    BATCHLINE_NAMESPACE: bus.naming.namespace,
    OPENAI_API_KEY: 'sk-batcher-group-test-0000000000',
    HEALTH_PORT: '0',
    LOG_LEVEL: 'silent',
    BATCH_PROCESSING_ENABLED: 'false',
  });
  afterEach(async () => {
    await batcher?.stop();
    batcher = undefined;
    await db.pool.query('TRUNCATE batcher_requests');
  });
  afterAll(async () => {
    await bus?.deleteTopology();
    await bus?.drain();
    await db?.close();
  });

  it('queues concurrent requests with one INSERT per group; a repeated id, in a group or across groups, is one request', async () => {
    const intake = intakeHandler({
      pool: db.pool,
      jobTypes: builtInJobTypes(),
      defaultModel: 'gpt-4o-mini',
      group: { maxItems: 50, maxWaitMs: 100 },
    });
    // 1..40 and 1..10 again: one full group, with 10 repeats inside it.
    await Promise.all(
      [...range(1, 40), ...range(1, 10)].map((id, i) => intake(request(id, i < 40 ? 'first' : 'again'))),
    );
    // 41..60: a group written when its time is up.
    await Promise.all(range(41, 20).map((id) => intake(request(id))));
    // 1..30 again (already queued) and 101..120: a full group that queues only the new ones.
    await Promise.all([...range(1, 30), ...range(101, 20)].map((id) => intake(request(id, 'later'))));

    const rows = await queued(db);
    expect(rows.map((row) => Number(row.request_id))).toEqual([...range(1, 60), ...range(101, 20)]);
    // Each group's rows were committed by one transaction.
    expect(new Set(rows.map((row) => row.xmin)).size).toBe(3);
    expect(rows.slice(0, 40).filter((row) => !row.line.includes('first'))).toEqual([]);
    expect(rows.filter((row) => row.line_bytes !== Buffer.byteLength(row.line))).toEqual([]);
    expect(rows.map((row) => JSON.parse(row.line).custom_id)).toHaveLength(80);
  });

  it('fails every request of a group whose INSERT failed; they are delivered again and queued once', async () => {
    // The database refuses request 7 for now: the INSERT of its group fails as a whole.
    await db.pool.query(
      "ALTER TABLE batcher_requests ADD CONSTRAINT refuse_seven CHECK (request_id <> '7') NOT VALID",
    );
    const intake = intakeHandler({
      pool: db.pool,
      jobTypes: builtInJobTypes(),
      defaultModel: 'gpt-4o-mini',
      group: { maxItems: 1_000, maxWaitMs: 200 },
    });
    const ids = range(1001, 30).concat(7);
    for (const id of ids) {
      const event = request(id);
      await bus.publish(Subjects.requestsEnqueued, event, { msgId: enqueuedRequestMsgId(event) });
    }
    // Every request is pulled at once, so they make one group.
    const failed = new Set<number>();
    const consumption = bus.consume(
      'batcher',
      async (event) => {
        try {
          await intake(event);
        } catch (error) {
          failed.add(Number(event.requestId));
          throw error;
        }
      },
      { concurrency: 100, retryDelaysMs: [1_000] },
    );
    try {
      await waitFor('every request of the group failed', () => failed.size === ids.length);
      expect(await queued(db)).toEqual([]);
      await db.pool.query('ALTER TABLE batcher_requests DROP CONSTRAINT refuse_seven');
      await waitFor('every request queued', async () => (await queued(db)).length >= ids.length);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect((await queued(db)).map((row) => Number(row.request_id)).sort((a, b) => a - b)).toEqual(
        [...ids].sort((a, b) => a - b),
      );
    } finally {
      await consumption.stop();
    }
  });

  it('loses nothing when the batcher is killed while its INSERT has not committed', async () => {
    const ids = range(2001, 300);
    for (const id of ids) {
      const event = request(id);
      await bus.publish(Subjects.requestsEnqueued, event, { msgId: enqueuedRequestMsgId(event) });
    }
    // An open transaction holds request 2150's key: the batcher's INSERT of its group waits on it, mid-flush.
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO batcher_requests (job_type, request_id, provider, model, line, line_bytes, estimated_tokens)
         VALUES ($1, '2150', 'openai', 'gpt-4o-mini', '{}', 2, 1)`,
        [JOB_TYPE],
      );
      batcher = spawnServiceProcess({ name: 'batcher', env: batcherEnv() });
      await waitFor(
        "the batcher's INSERT waiting for the open transaction",
        async () =>
          (
            await db.pool.query(
              `SELECT 1 FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO batcher_requests%'`,
            )
          ).rowCount === 1,
      );
      batcher.kill('SIGKILL');
      await batcher.exited;
      await blocker.query('ROLLBACK');
    } finally {
      blocker.release();
    }
    // Groups without 2150 may have committed; the one with it may still commit now that the lock is gone (Postgres
    // finishes a statement whose client died), unacknowledged either way.
    // A new batcher gets the unacknowledged requests again (after the consumer's ack wait) and queues each once.
    batcher = spawnServiceProcess({ name: 'batcher', env: batcherEnv() });
    await waitFor('every request queued', async () => (await queued(db)).length >= ids.length, {
      timeoutMs: 90_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await queued(db)).map((row) => Number(row.request_id)).sort((a, b) => a - b)).toEqual(ids);
  }, 150_000);
});
