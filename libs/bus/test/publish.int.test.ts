import { EventValidationError } from '@batchline/events';
import { sampleStatusChangedEvent } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestBus, type TestBus, TRACEPARENT, traceIdOf } from './support.ts';

describe('publish', () => {
  let t: TestBus;
  const stream = () => t.naming.stream('BATCH_STATUS');
  const stored = (seq: number) => t.jsm.streams.getMessage(stream(), { seq });

  beforeAll(async () => {
    t = await openTestBus('publish');
    await t.bus.ensureTopology();
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores one message for a repeated msgId and reports the second as a duplicate', async () => {
    const first = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(1), {
      msgId: 'status:1:a',
    });
    const second = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(1), {
      msgId: 'status:1:a',
    });
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ seq: first.seq, duplicate: true });
    const info = await t.jsm.streams.info(stream());
    expect(info.state.messages).toBe(1);
    const msg = await stored(first.seq);
    expect(msg?.subject).toBe(t.naming.subject('batch.status.changed'));
    expect(msg?.header.get('Nats-Msg-Id')).toBe('status:1:a');
    expect(msg?.json()).toMatchObject({ batchLogId: 1, providerStatus: 'in_progress' });
  });

  it('puts a traceparent on every message through the propagator, continuing a given one', async () => {
    const generated = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(2), {
      msgId: 'status:2',
    });
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const continued = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(3), {
      msgId: 'status:3',
      headers: { traceparent: parent, 'Batchline-Origin': 'test' },
    });
    const replaced = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(4), {
      msgId: 'status:4',
      headers: { traceparent: '00-00000000000000000000000000000000-0000000000000000-01' },
    });
    const raw = await t.bus.publishRaw(
      'batch.status.changed',
      new TextEncoder().encode(JSON.stringify(sampleStatusChangedEvent(5))),
      'status:5',
    );

    const traceparentOf = async (seq: number) => (await stored(seq))?.header.get('traceparent');
    expect(await traceparentOf(generated.seq)).toMatch(TRACEPARENT);
    const continuedMsg = await stored(continued.seq);
    const child = continuedMsg?.header.get('traceparent');
    expect(child).toMatch(TRACEPARENT);
    // The same trace, one hop further: a new span id under the given one.
    expect(traceIdOf(child)).toBe(traceIdOf(parent));
    expect(child).not.toBe(parent);
    expect(continuedMsg?.header.get('Batchline-Origin')).toBe('test');
    expect(await traceparentOf(replaced.seq)).toMatch(TRACEPARENT);
    expect(await traceparentOf(raw.seq)).toMatch(TRACEPARENT);
  });

  it('refuses an invalid event, naming the field, and stores nothing', async () => {
    const before = (await t.jsm.streams.info(stream())).state.messages;
    const bad = { ...sampleStatusChangedEvent(6), providerBatchId: '' };
    const error = await t.bus
      .publish('batch.status.changed', bad, { msgId: 'status:6' })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(EventValidationError);
    expect(error).toMatchObject({ code: 'EVENT_INVALID', field: 'providerBatchId' });

    const rawError = await t.bus
      .publishRaw('batch.status.changed', new TextEncoder().encode('{"batchLogId":"seven"}'), 'status:7')
      .catch((err: unknown) => err);
    expect(rawError).toMatchObject({ code: 'EVENT_INVALID', field: 'batchLogId' });
    expect((await t.jsm.streams.info(stream())).state.messages).toBe(before);
  });
});
