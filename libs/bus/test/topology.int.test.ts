import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consumers, Streams } from '../index.ts';
import {
  DEFAULT_STREAM_MAX_AGE_MS,
  DLQ_RECORDER,
  DUPLICATE_WINDOW_MS,
  maxDeliveriesAdvisorySubject,
} from '../src/topology.ts';
import { openTestBus, type TestBus } from './support.ts';

describe('ensureTopology', () => {
  let t: TestBus;
  beforeAll(async () => {
    t = await openTestBus('topology');
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates the declared streams and consumers, and a second run changes nothing', async () => {
    const first = await t.bus.ensureTopology();
    expect(first.streams.map((s) => s.action)).toEqual(Object.keys(Streams).map(() => 'created'));
    expect(first.consumers.map((c) => [c.name, c.action])).toEqual(
      [...Object.keys(Consumers), DLQ_RECORDER].map((name) => [name, 'created']),
    );

    const status = await t.jsm.streams.info(t.naming.stream('BATCH_STATUS'));
    expect(status.config).toMatchObject({
      subjects: [t.naming.subject('batch.status.changed')],
      retention: 'limits',
      storage: 'file',
      discard: 'old',
      max_age: nanos(DEFAULT_STREAM_MAX_AGE_MS),
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
    const dlq = await t.jsm.streams.info(t.naming.stream('DLQ'));
    expect(dlq.config.subjects).toEqual([t.naming.subject('dlq.>')]);
    // Max-deliveries advisories of every stream a consumer reads, and nothing of other namespaces.
    const advisories = await t.jsm.streams.info(t.naming.stream('DLQ_ADVISORIES'));
    expect(advisories.config.subjects).toContain(
      maxDeliveriesAdvisorySubject(t.naming.stream('BATCH_STATUS')),
    );
    expect(advisories.config.subjects).toHaveLength(
      new Set(Object.values(Consumers).map((c) => c.stream)).size,
    );

    const fetcher = await t.jsm.consumers.info(t.naming.stream('BATCH_STATUS'), 'fetcher');
    expect(fetcher.config).toMatchObject({
      durable_name: 'fetcher',
      ack_policy: 'explicit',
      deliver_policy: 'all',
      filter_subject: t.naming.subject('batch.status.changed'),
      ack_wait: nanos(30_000),
      max_deliver: 10,
    });
    expect(fetcher.config.max_ack_pending).toBe(256);
    // A consumer's declared settings override the defaults.
    const batcher = await t.jsm.consumers.info(t.naming.stream('BATCH_REQUESTS'), 'batcher');
    expect(batcher.config.max_ack_pending).toBe(Consumers.batcher.settings.maxAckPending);
    expect(fetcher.config.backoff ?? []).toEqual([]);

    const second = await t.bus.ensureTopology();
    expect([...second.streams, ...second.consumers].every((x) => x.action === 'unchanged')).toBe(true);
    expect(second.streams.map((s) => s.name).sort()).toEqual(
      Object.keys(Streams).map(t.naming.stream).sort(),
    );
    expect(second.consumers.map((c) => c.name).sort()).toEqual(
      [...Object.keys(Consumers), DLQ_RECORDER].sort(),
    );
  });

  it('applies a changed max_age and consumer setting on the next run, leaving the rest unchanged', async () => {
    const report = await t.bus.ensureTopology({
      maxAgeMs: 60 * 60 * 1000,
      consumers: { persister: { ackWaitMs: 5_000 } },
    });
    expect(report.streams.map((s) => s.action)).toEqual(Object.keys(Streams).map(() => 'updated'));
    expect(report.consumers.map((c) => [c.name, c.action])).toEqual(
      [...Object.keys(Consumers), DLQ_RECORDER].map((name) => [
        name,
        name === 'persister' ? 'updated' : 'unchanged',
      ]),
    );
    const results = await t.jsm.streams.info(t.naming.stream('BATCH_RESULTS'));
    expect(results.config.max_age).toBe(nanos(60 * 60 * 1000));
    const persister = await t.jsm.consumers.info(t.naming.stream('BATCH_RESULTS'), 'persister');
    expect(persister.config.ack_wait).toBe(nanos(5_000));
  });
});
