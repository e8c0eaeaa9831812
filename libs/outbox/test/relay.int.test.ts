import { createPool, enqueueOutbox, migrate, type Pool } from '@batchline/db';
import { createLogger } from '@batchline/logging';
import { createTestDatabase, type TestDatabase } from '@batchline/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type OutboxPublisher, type OutboxRelay, startOutboxRelay } from '../index.ts';

const log = createLogger({ service: 'outbox-test', level: 'silent' });
const decoder = new TextDecoder();

interface PublishCall {
  subject: string;
  msgId: string;
  payload: unknown;
  headers: Record<string, string>;
}

/** Our own seam: records what the relay publishes, and fails on demand. */
function recordingPublisher(shouldFail: (msgId: string) => boolean = () => false) {
  const published: PublishCall[] = [];
  const failedAttempts: string[] = [];
  const publisher: OutboxPublisher = {
    async publishRaw(subject, data, msgId, headers) {
      if (shouldFail(msgId)) {
        failedAttempts.push(msgId);
        throw new Error(`no PubAck for ${msgId}`);
      }
      published.push({ subject, msgId, payload: JSON.parse(decoder.decode(data)), headers });
      return { seq: published.length };
    },
  };
  return { publisher, published, failedAttempts };
}

describe('outbox relay', () => {
  let database: TestDatabase;
  let pool: Pool;
  const relays: OutboxRelay[] = [];

  const start = (options: Omit<Parameters<typeof startOutboxRelay>[0], 'pool' | 'log'>): OutboxRelay => {
    const relay = startOutboxRelay({ pool, log, ...options });
    relays.push(relay);
    return relay;
  };
  const enqueue = async (count: number, prefix: string): Promise<string[]> => {
    const msgIds: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const msgId = `${prefix}:${i}`;
      await enqueueOutbox(pool, {
        subject: i % 2 === 0 ? 'batch.status.changed' : 'batch.finalized',
        msgId,
        payload: { n: i, text: 'tab\there, quote " and unicode ✓' },
        headers: { traceparent: `00-${prefix}-${i}-01` },
      });
      msgIds.push(msgId);
    }
    return msgIds;
  };
  const unpublished = async (): Promise<string[]> => {
    const { rows } = await pool.query<{ msg_id: string }>(
      'SELECT msg_id FROM outbox WHERE published_at IS NULL ORDER BY id',
    );
    return rows.map((row) => row.msg_id);
  };

  beforeAll(async () => {
    database = await createTestDatabase('outbox');
    pool = createPool({ connectionString: database.url, log, applicationName: 'outbox-test' });
    await migrate(pool, log);
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE outbox');
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  });
  afterAll(async () => {
    await pool?.end();
    await database?.drop();
  });

  it('publishes every row in id order, with its subject, msg id, headers and body, and marks it', async () => {
    const msgIds = await enqueue(250, 'order');
    const { publisher, published } = recordingPublisher();
    start({ publisher, intervalMs: 50 });

    await vi.waitFor(async () => expect(await unpublished()).toEqual([]), { timeout: 20_000 });
    expect(published.map((call) => call.msgId)).toEqual(msgIds);
    expect(published[3]).toEqual({
      subject: 'batch.finalized',
      msgId: 'order:3',
      payload: { n: 3, text: 'tab\there, quote " and unicode ✓' },
      headers: { traceparent: '00-order-3-01' },
    });
  });

  it('leaves rows whose publish failed for the next round, keeping their order', async () => {
    const msgIds = await enqueue(6, 'retry');
    let busDown = true;
    const { publisher, published, failedAttempts } = recordingPublisher(
      (msgId) => busDown && msgId === 'retry:2',
    );
    start({ publisher, intervalMs: 20, maxRetryDelayMs: 40 });

    // Two failed attempts prove a failed round was retried rather than the relay giving up.
    await vi.waitFor(() => expect(failedAttempts.length).toBeGreaterThanOrEqual(2), { timeout: 20_000 });
    expect(published.map((call) => call.msgId)).toEqual(['retry:0', 'retry:1']);
    expect(await unpublished()).toEqual(msgIds.slice(2));

    busDown = false;
    await vi.waitFor(async () => expect(await unpublished()).toEqual([]), { timeout: 20_000 });
    expect(published.map((call) => call.msgId)).toEqual(msgIds);
  });

  it('publishes at once when kicked', async () => {
    const { publisher, published } = recordingPublisher();
    // Without kicks it would look again only in an hour: once its first round is done, only a kick publishes.
    const relay = start({ publisher, intervalMs: 3_600_000 });
    await enqueueOutbox(pool, { subject: 'batch.finalized', msgId: 'kick:before', payload: {} });
    relay.kick();
    await vi.waitFor(async () => expect(await unpublished()).toEqual([]), { timeout: 20_000 });
    const msgIds = await enqueue(3, 'kick');
    relay.kick();
    await vi.waitFor(async () => expect(await unpublished()).toEqual([]), { timeout: 20_000 });
    expect(published.map((call) => call.msgId)).toEqual(['kick:before', ...msgIds]);
  });

  it('shares the rows between relays of several replicas without publishing any twice', async () => {
    const msgIds = await enqueue(400, 'share');
    const first = recordingPublisher();
    const second = recordingPublisher();
    start({ publisher: first.publisher, intervalMs: 10, batchSize: 20 });
    start({ publisher: second.publisher, intervalMs: 10, batchSize: 20 });

    await vi.waitFor(async () => expect(await unpublished()).toEqual([]), { timeout: 20_000 });
    const all = [...first.published, ...second.published].map((call) => call.msgId);
    expect(all.sort()).toEqual([...msgIds].sort());
    // Each relay still publishes in id order.
    for (const { published } of [first, second]) {
      const order = published.map((call) => Number(call.msgId.split(':')[1]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
  });

  it('stops after its current round and publishes nothing more', async () => {
    const { publisher, published } = recordingPublisher();
    const relay = start({ publisher, intervalMs: 10 });
    await relay.stop();
    await enqueue(2, 'stopped');
    relay.kick();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(published).toEqual([]);
    expect(await unpublished()).toHaveLength(2);
  });
});
