import { EventValidationError } from '@batchline/events';
import { sampleStatusChangedEvent } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childTraceparent, isValidTraceparent, newTraceparent } from '../index.ts';
import { openTestBus, type TestBus } from './support.ts';

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

  it('puts a valid traceparent on every message, keeping a given one', async () => {
    const generated = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(2), {
      msgId: 'status:2',
    });
    const parent = newTraceparent();
    const kept = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(3), {
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

    const generatedTp = (await stored(generated.seq))?.header.get('traceparent');
    expect(isValidTraceparent(generatedTp)).toBe(true);
    const keptMsg = await stored(kept.seq);
    expect(keptMsg?.header.get('traceparent')).toBe(parent);
    expect(keptMsg?.header.get('Batchline-Origin')).toBe('test');
    expect(isValidTraceparent((await stored(replaced.seq))?.header.get('traceparent'))).toBe(true);
    expect(isValidTraceparent((await stored(raw.seq))?.header.get('traceparent'))).toBe(true);

    const child = childTraceparent(parent);
    expect(child.split('-')[1]).toBe(parent.split('-')[1]);
    expect(child.split('-')[2]).not.toBe(parent.split('-')[2]);
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
