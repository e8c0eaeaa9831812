import { propagation, trace } from '@opentelemetry/api';

let ensured: Promise<void> | undefined;

/**
 * Makes trace context travel on every message even with tracing off: when no tracer provider is registered (no
 * OTLP endpoint), a provider that samples nothing is registered with the W3C propagator. Its spans record and
 * export nothing, but carry valid ids, so the propagator writes a `traceparent` (flags 00) on each message and
 * the work a message causes continues its trace id. With tracing on, the SDK's own provider is kept.
 */
export function ensureTracePropagation(): Promise<void> {
  ensured ??= (async () => {
    const [{ AlwaysOffSampler, BasicTracerProvider }, { W3CTraceContextPropagator }] = await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/core'),
    ]);
    // Both calls leave what is registered already (the SDK started with tracing on, a test's provider) alone.
    trace.setGlobalTracerProvider(new BasicTracerProvider({ sampler: new AlwaysOffSampler() }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  })();
  return ensured;
}
