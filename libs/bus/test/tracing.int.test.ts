import { sampleStatusChangedEvent } from '@batchline/testing';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventContext, PoisonMessageError } from '../index.ts';
import { openTestBus, type TestBus, waitFor } from './support.ts';

// Tracing on, in this test file's process only: spans stay in memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const traceparentOf = (span: ReadableSpan) =>
  `00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`;

describe('producer and consumer spans over NATS headers', () => {
  let t: TestBus;
  beforeAll(async () => {
    t = await openTestBus('tracing');
    await t.bus.ensureTopology();
  });
  afterAll(async () => {
    await t.close();
    await provider.shutdown();
  });

  it('makes the consumer span a child of the producer span (and links it), which is a child of the caller', async () => {
    exporter.reset();
    const seen: EventContext[] = [];
    const consumption = t.bus.consume('fetcher', async (_event, ctx) => {
      seen.push(ctx);
    });
    const poll = await trace.getTracer('test').startActiveSpan('poll batch', async (span) => {
      await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(5), { msgId: 'status:5' });
      span.end();
      return span;
    });
    await waitFor('the delivery', () => seen.length === 1);
    await waitFor('the consumer span', () =>
      exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER),
    );
    await consumption.stop();

    const spans = exporter.getFinishedSpans();
    const producer = spans.find((s) => s.name === 'publish batch.status.changed')!;
    const consumer = spans.find((s) => s.name === 'process batch.status.changed')!;
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(parentId(producer)).toBe(poll.spanContext().spanId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': t.naming.subject('batch.status.changed'),
      'messaging.message.id': 'status:5',
      'messaging.nats.duplicate': false,
    });
    // The message carried the producer span's context...
    expect(seen[0]!.headers.traceparent).toBe(traceparentOf(producer));
    // ...and the consumer continued it: child of the producer, with the conventions' link to it.
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(parentId(consumer)).toBe(producer.spanContext().spanId);
    expect(consumer.spanContext().traceId).toBe(poll.spanContext().traceId);
    expect(consumer.links.map((l) => l.context.spanId)).toEqual([producer.spanContext().spanId]);
    expect(consumer.attributes).toMatchObject({
      'messaging.consumer.group.name': 'fetcher',
      'batchline.batch_log_id': 5,
      'batchline.provider_batch_id': 'batch_5',
      'batchline.settlement': 'ack',
    });
    // What the handler causes continues from the consumer span.
    expect(trace.getSpanContext(seen[0]!.traceContext)?.spanId).toBe(consumer.spanContext().spanId);
  });

  it('continues the trace stored with an outbox row when no span is active, and marks a dead letter', async () => {
    exporter.reset();
    const stored = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const consumption = t.bus.consume('fetcher', async () => {
      throw new PoisonMessageError('no such batch');
    });
    const body = new TextEncoder().encode(JSON.stringify(sampleStatusChangedEvent(6)));
    await t.bus.publishRaw('batch.status.changed', body, 'status:6', { traceparent: stored });
    await waitFor('the dead letter span', () =>
      exporter.getFinishedSpans().some((s) => s.attributes['batchline.settlement'] === 'dead_letter'),
    );
    await consumption.stop();

    const spans = exporter.getFinishedSpans();
    const producer = spans.find((s) => s.name === 'publish batch.status.changed')!;
    expect(producer.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parentId(producer)).toBe('00f067aa0ba902b7');
    const consumer = spans.find((s) => s.name === 'process batch.status.changed')!;
    expect(consumer.status.code).toBe(2);
    const dlqPublish = spans.find((s) => s.name === 'publish dlq.batch.status.changed')!;
    expect(parentId(dlqPublish)).toBe(consumer.spanContext().spanId);
  });
});
