import { sampleBatchFinalizedEvent, sampleStatusChangedEvent } from '@batchline/testing';
import { trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DlqHeaders,
  type EventContext,
  PoisonMessageError,
  type TopologyOptions,
  TransientError,
} from '../index.ts';
import { openTestBus, type TestBus, TRACEPARENT, traceIdOf, waitFor } from './support.ts';

const FAST_RETRIES = { retryDelaysMs: [50, 100] };

describe('consume', () => {
  const opened: TestBus[] = [];
  async function setUp(topology: TopologyOptions = {}): Promise<TestBus> {
    const t = await openTestBus('consume');
    opened.push(t);
    await t.bus.ensureTopology(topology);
    return t;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });

  const fetcherIdle = (t: TestBus) => async () => {
    const info = await t.jsm.consumers.info(t.naming.stream('BATCH_STATUS'), 'fetcher');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  };
  const lastDeadLetter = (t: TestBus) =>
    t.jsm.streams.getMessage(t.naming.stream('DLQ'), {
      last_by_subj: t.naming.subject('dlq.batch.status.changed'),
    });

  it('retries a transient failure with a later delivery, then acks', async () => {
    const t = await setUp();
    const seen: { id: number; ctx: EventContext }[] = [];
    const consumption = t.bus.consume(
      'fetcher',
      async (event, ctx) => {
        seen.push({ id: event.batchLogId, ctx });
        if (ctx.deliveryCount === 1) throw new TransientError('provider timed out');
      },
      FAST_RETRIES,
    );
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const published = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(1), {
      msgId: 'status:1',
      headers: { traceparent },
    });

    await waitFor('the second delivery', () => seen.length === 2);
    await waitFor('no pending or unacked messages', fetcherIdle(t));
    expect(seen.map((s) => [s.id, s.ctx.deliveryCount])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(seen[1]!.ctx).toMatchObject({
      seq: published.seq,
      subject: t.naming.subject('batch.status.changed'),
    });
    // The handler's trace context continues the one the message carried.
    expect(trace.getSpanContext(seen[1]!.ctx.traceContext)?.traceId).toBe(traceIdOf(traceparent));
    expect(t.bus.status()).toMatchObject({
      connected: true,
      ready: true,
      consumers: [{ consumer: 'fetcher', bound: true }],
    });
    await consumption.stop();
    expect(t.bus.status().consumers).toEqual([]);
  });

  it('dead-letters a schema-invalid message and goes on with the valid ones after it', async () => {
    const t = await setUp();
    const processed: number[] = [];
    t.bus.consume('fetcher', async (event) => {
      processed.push(event.batchLogId);
    });
    const wireSubject = t.naming.subject('batch.status.changed');
    const badBody = new TextEncoder().encode(
      JSON.stringify({ ...sampleStatusChangedEvent(99), batchLogId: 'not-a-number' }),
    );
    // Straight to the server, as a buggy or foreign publisher would: the bus itself refuses to publish this.
    const bad = await t.js.publish(wireSubject, badBody, { msgID: 'foreign:1' });
    for (const id of [1, 2, 3]) {
      await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `status:${id}` });
    }

    await waitFor('the valid events', () => processed.length === 3);
    await waitFor('no pending or unacked messages', fetcherIdle(t));
    expect(processed).toEqual([1, 2, 3]);

    const dead = await lastDeadLetter(t);
    expect(dead).not.toBeNull();
    expect(dead!.data).toEqual(badBody);
    const header = (name: string) => dead!.header.get(name);
    expect(header(DlqHeaders.subject)).toBe(wireSubject);
    expect(header(DlqHeaders.stream)).toBe(t.naming.stream('BATCH_STATUS'));
    expect(header(DlqHeaders.seq)).toBe(String(bad.seq));
    expect(header(DlqHeaders.deliveryCount)).toBe('1');
    expect(header(DlqHeaders.consumer)).toBe('fetcher');
    expect(header(DlqHeaders.error)).toContain('batchLogId');
    expect(header('Nats-Msg-Id')).toBe(`${'dlq'}:${t.naming.stream('BATCH_STATUS')}:${bad.seq}`);
    expect(header('traceparent')).toMatch(TRACEPARENT);

    const errorLog = t.logLines().find((l) => l.level === 'error' && String(l.msg).includes('dead-lettered'));
    expect(errorLog).toMatchObject({ consumer: 'fetcher', seq: bad.seq, reason: 'invalid event' });
  });

  it('dead-letters an event that fails on every delivery without blocking the others', async () => {
    const t = await setUp({ consumers: { fetcher: { maxDeliver: 3 } } });
    const attempts: number[] = [];
    const processed: number[] = [];
    t.bus.consume(
      'fetcher',
      async (event, ctx) => {
        if (event.batchLogId === 666) {
          attempts.push(ctx.deliveryCount);
          throw new Error('boom with sk-secretsecretsecret123 inside');
        }
        processed.push(event.batchLogId);
      },
      FAST_RETRIES,
    );
    await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(666), { msgId: 'status:666' });
    for (const id of [1, 2, 3]) {
      await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `status:${id}` });
    }

    await waitFor(
      'the failing event in the DLQ',
      async () => (await t.jsm.streams.info(t.naming.stream('DLQ'))).state.messages === 1,
    );
    await waitFor('no pending or unacked messages', fetcherIdle(t));
    expect(processed.sort()).toEqual([1, 2, 3]);
    expect(attempts).toEqual([1, 2, 3]);
    const dead = await lastDeadLetter(t);
    expect(dead!.json()).toMatchObject({ batchLogId: 666 });
    expect(dead!.header.get(DlqHeaders.deliveryCount)).toBe('3');
    expect(dead!.header.get(DlqHeaders.error)).toContain('boom');
    expect(dead!.header.get(DlqHeaders.error)).not.toContain('sk-secretsecretsecret123');
  });

  it('dead-letters at once when the handler throws PoisonMessageError', async () => {
    const t = await setUp();
    const attempts: number[] = [];
    t.bus.consume('fetcher', async (_event, ctx) => {
      attempts.push(ctx.deliveryCount);
      throw new PoisonMessageError('unknown batch');
    });
    await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(7), { msgId: 'status:7' });
    await waitFor('the event in the DLQ', async () => (await lastDeadLetter(t)) !== null);
    await waitFor('no pending or unacked messages', fetcherIdle(t));
    expect(attempts).toEqual([1]);
    expect((await lastDeadLetter(t))!.header.get(DlqHeaders.error)).toContain('unknown batch');
  });

  it('runs at most `concurrency` handlers at once, and that many when there is work', async () => {
    const t = await setUp();
    const concurrency = 3;
    let running = 0;
    let maxRunning = 0;
    const processed: number[] = [];
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    for (let id = 1; id <= 10; id++) {
      await t.bus.publish('batch.finalized', sampleBatchFinalizedEvent(id), { msgId: `final:${id}` });
    }
    t.bus.consume(
      'notifier',
      async (event) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (running === concurrency) openGate();
        // The first handlers wait until `concurrency` of them run side by side; a serial runner never opens the gate.
        await gate;
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        processed.push(event.batchLogId);
      },
      { concurrency },
    );
    await waitFor('all events', () => processed.length === 10);
    expect(maxRunning).toBe(concurrency);
    expect(processed.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('sends plain acks when asked not to confirm them: each message is handled once and acked', async () => {
    const t = await setUp({ consumers: { fetcher: { ackWaitMs: 1_000 } } });
    const seen: number[] = [];
    const consumption = t.bus.consume(
      'fetcher',
      async (event) => {
        seen.push(event.batchLogId);
      },
      { concurrency: 5, confirmAcks: false },
    );
    for (const id of [1, 2, 3]) {
      await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `status:${id}` });
    }
    await waitFor('no pending or unacked messages', fetcherIdle(t));
    // Past the ack wait: an ack the server had not got would have been a second delivery.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await consumption.stop();
    expect(seen.sort()).toEqual([1, 2, 3]);
  });

  it('keeps a handler that outlives ack_wait from being redelivered', async () => {
    const t = await setUp({ consumers: { fetcher: { ackWaitMs: 1_000 } } });
    const deliveries: number[] = [];
    t.bus.consume(
      'fetcher',
      async (_event, ctx) => {
        deliveries.push(ctx.deliveryCount);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
      },
      { concurrency: 2 },
    );
    await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(8), { msgId: 'status:8' });
    await waitFor('the handler to finish and ack', fetcherIdle(t));
    expect(deliveries).toEqual([1]);
  });

  it('stop() waits for the handler in flight, which then acks', async () => {
    const t = await setUp();
    let started = false;
    let finished = false;
    const consumption = t.bus.consume('fetcher', async () => {
      started = true;
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished = true;
    });
    await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(9), { msgId: 'status:9' });
    await waitFor('the handler to start', () => started);
    await consumption.stop();
    expect(finished).toBe(true);
    await waitFor('the message acked', fetcherIdle(t));
  });
});
