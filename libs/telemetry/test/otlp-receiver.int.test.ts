import { SpanKind } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryServiceName } from '../index.ts';
import { tracingConfigured } from '../src/sdk.ts';
import { type OtlpReceiver, SpanKindCode, startOtlpReceiver } from './otlp-receiver.ts';

/** Sends a producer span with a child consumer span (linked to it) through a real OTLP exporter. */
async function exportSample(exporter: SpanExporter) {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer('test');
  const producer = tracer.startSpan('publish batch.results.parsed', {
    kind: SpanKind.PRODUCER,
    attributes: {
      'messaging.system': 'nats',
      'batchline.batch_log_id': 42,
      'messaging.nats.duplicate': false,
    },
  });
  const { trace, context } = await import('@opentelemetry/api');
  const consumer = tracer.startSpan(
    'process batch.results.parsed',
    { kind: SpanKind.CONSUMER, links: [{ context: producer.spanContext() }] },
    trace.setSpan(context.active(), producer),
  );
  consumer.end();
  producer.end();
  await provider.forceFlush();
  await provider.shutdown();
  return { producer: producer.spanContext(), consumer: consumer.spanContext() };
}

describe('the OTLP/HTTP test receiver', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  for (const [protocol, makeExporter, contentType] of [
    ['protobuf', (url: string) => new ProtobufExporter({ url }), 'application/x-protobuf'],
    ['JSON', (url: string) => new JsonExporter({ url }), 'application/json'],
  ] as const) {
    it(`decodes what the real ${protocol} exporter sends`, async () => {
      receiver.spans.length = 0;
      const sent = await exportSample(makeExporter(`${receiver.endpoint}/v1/traces`));
      expect(receiver.contentTypes.at(-1)).toBe(contentType);
      const byName = new Map(receiver.spans.map((s) => [s.name, s]));
      const producer = byName.get('publish batch.results.parsed')!;
      const consumer = byName.get('process batch.results.parsed')!;
      expect(producer).toMatchObject({
        traceId: sent.producer.traceId,
        spanId: sent.producer.spanId,
        parentSpanId: '',
        kind: SpanKindCode.producer,
        attributes: {
          'messaging.system': 'nats',
          'batchline.batch_log_id': 42,
          'messaging.nats.duplicate': false,
        },
      });
      expect(consumer).toMatchObject({
        traceId: sent.producer.traceId,
        spanId: sent.consumer.spanId,
        parentSpanId: sent.producer.spanId,
        kind: SpanKindCode.consumer,
        links: [{ traceId: sent.producer.traceId, spanId: sent.producer.spanId }],
      });
    });
  }
});

describe('telemetry settings', () => {
  it('is on only with an OTLP endpoint and not disabled', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://x:4318/v1/traces' })).toBe(true);
    expect(
      tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
  });

  it('names each process after its service or command', () => {
    expect(telemetryServiceName(['run', 'persister'])).toBe('batchline-persister');
    expect(telemetryServiceName(['replay', '--stream', 'BATCH_RESULTS'])).toBe('batchline-replay');
    expect(telemetryServiceName([])).toBe('batchline');
  });
});
