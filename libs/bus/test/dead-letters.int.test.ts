import type { OpsErrorEvent } from '@batchline/events';
import { sampleStatusChangedEvent } from '@batchline/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DeadLetter,
  DlqHeaders,
  deadLetterOf,
  type EventContext,
  PoisonMessageError,
  redriveDeadLetter,
  type TopologyOptions,
} from '../index.ts';
import { REDRIVE_OF_HEADER } from '../src/dead-letters.ts';
import { openTestBus, type TestBus, traceIdOf, waitFor } from './support.ts';

const FAST_RETRIES = { retryDelaysMs: [50, 100] };

async function deadLetters(t: TestBus): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for await (const message of t.bus.readStream('DLQ')) letters.push(deadLetterOf(message, t.bus.naming));
  return letters;
}

async function opsErrors(t: TestBus): Promise<OpsErrorEvent[]> {
  const events: OpsErrorEvent[] = [];
  for await (const message of t.bus.readStream('OPS', { subject: 'ops.error' })) {
    events.push(JSON.parse(new TextDecoder().decode(message.data)) as OpsErrorEvent);
  }
  return events;
}

describe('dead letters', () => {
  const opened: TestBus[] = [];
  async function setUp(topology: TopologyOptions = {}): Promise<TestBus> {
    const t = await openTestBus('dlq');
    opened.push(t);
    await t.bus.ensureTopology(topology);
    return t;
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
  });

  it('a poison event lands in the DLQ without blocking later events; after the fix, redrive processes it once', async () => {
    const t = await setUp();
    let fixed = false;
    const processed: { id: number; ctx: EventContext }[] = [];
    t.bus.consume(
      'fetcher',
      async (event, ctx) => {
        if (event.batchLogId === 9 && !fixed) throw new PoisonMessageError('batch log 9 does not exist');
        processed.push({ id: event.batchLogId, ctx });
      },
      FAST_RETRIES,
    );
    const poison = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(9), {
      msgId: 'status:9',
    });
    for (const id of [10, 11]) {
      await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(id), { msgId: `status:${id}` });
    }
    await waitFor('the later events', () => processed.length === 2);
    expect(processed.map((p) => p.id)).toEqual([10, 11]);

    const [letter, ...others] = await deadLetters(t);
    expect(others).toEqual([]);
    expect(letter).toMatchObject({
      subject: 'batch.status.changed',
      stream: t.naming.stream('BATCH_STATUS'),
      streamSeq: poison.seq,
      consumer: 'fetcher',
      deliveryCount: 1,
      via: 'runner',
      originalMsgId: 'status:9',
    });
    expect(letter!.error).toContain('batch log 9 does not exist');
    expect(JSON.parse(new TextDecoder().decode(letter!.data))).toMatchObject({ batchLogId: 9 });
    // The notifier hears of it: one ops.error naming the dead letter and the batch.
    await waitFor('the ops.error notice', async () => (await opsErrors(t)).length === 1);
    expect((await opsErrors(t))[0]).toMatchObject({
      kind: 'dead_lettered',
      occurrenceId: `dead_lettered:${t.naming.stream('BATCH_STATUS')}:${poison.seq}`,
      service: 'fetcher',
      batchLogId: 9,
      providerBatchId: 'batch_9',
    });

    fixed = true;
    await redriveDeadLetter(t.bus, letter!);
    // Running the same redrive again (say, after a crash before the DLQ entry was removed) sends nothing new.
    await redriveDeadLetter(t.bus, letter!);
    await waitFor('the redriven event', () => processed.length === 3);
    const redriven = processed[2]!;
    expect(redriven.id).toBe(9);
    expect(redriven.ctx.deliveryCount).toBe(1);
    expect(redriven.ctx.headers[REDRIVE_OF_HEADER]).toBe(String(letter!.dlqSeq));
    expect(redriven.ctx.headers['Nats-Msg-Id']).toBe(`redrive:${t.naming.stream('DLQ')}:${letter!.dlqSeq}`);
    expect(await deadLetters(t)).toEqual([]);
    await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(12), { msgId: 'status:12' });
    await waitFor('a later event', () => processed.length === 4);
    expect(processed.map((p) => p.id)).toEqual([10, 11, 9, 12]);
  });

  it('records a message JetStream gave up on (max deliveries) although no runner dead-lettered it', async () => {
    const t = await setUp({ consumers: { fetcher: { maxDeliver: 2, ackWaitMs: 300 } } });
    const recorder = t.bus.recordDeadLetters();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const original = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(7), {
      msgId: 'status:7',
      headers: { traceparent },
    });
    // Two deliveries that are never settled: the process handling them died each time.
    const raw = await t.js.consumers.get(t.naming.stream('BATCH_STATUS'), 'fetcher');
    let deliveries = 0;
    while (deliveries < 2) {
      for await (const msg of await raw.fetch({ max_messages: 1, expires: 2_000 })) {
        expect(msg.seq).toBe(original.seq);
        deliveries = msg.info.deliveryCount;
      }
    }
    // A consumer pulling again is what makes the server notice the message is out of deliveries.
    const processed: number[] = [];
    t.bus.consume('fetcher', async (event) => {
      processed.push(event.batchLogId);
    });

    await waitFor('the dead letter', async () => (await deadLetters(t)).length === 1);
    const [letter] = await deadLetters(t);
    expect(letter).toMatchObject({
      subject: 'batch.status.changed',
      stream: t.naming.stream('BATCH_STATUS'),
      streamSeq: original.seq,
      consumer: 'fetcher',
      deliveryCount: 2,
      via: 'max_deliveries',
      originalMsgId: 'status:7',
    });
    expect(letter!.error).toContain('max_deliver');
    // The payload, byte for byte as the stream still holds it; the copy continues the original's trace.
    const stored = await t.bus.getRecorded('BATCH_STATUS', original.seq);
    expect(traceIdOf(letter!.headers.traceparent)).toBe(traceIdOf(stored!.headers.traceparent));
    expect(traceIdOf(letter!.headers.traceparent)).toBe(traceIdOf(traceparent));
    expect(Buffer.from(letter!.data).equals(Buffer.from(stored!.data))).toBe(true);
    const dlqMessage = await t.bus.getRecorded('DLQ', letter!.dlqSeq);
    expect(dlqMessage!.headers[DlqHeaders.via]).toBe('max_deliveries');
    await waitFor('the ops.error notice', async () => (await opsErrors(t)).length === 1);

    // Later events flow; the given-up one is not delivered again until redriven.
    await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(8), { msgId: 'status:8' });
    await waitFor('the later event', () => processed.length === 1);
    expect(processed).toEqual([8]);
    await redriveDeadLetter(t.bus, letter!);
    await waitFor('the redriven event', () => processed.length === 2);
    expect(processed).toEqual([8, 7]);
    await recorder.stop();
  });
});
