import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/**
 * Span helpers over the OpenTelemetry API only. Without a started SDK (tracing off) every call here is a no-op
 * of the API's own: no spans, nothing injected, the function simply runs.
 */

const TRACER_NAME = 'batchline';

function batchlineTracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The active trace context as message/row headers (`traceparent`, `tracestate`); empty when tracing is off. */
export function traceHeaders(from: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(from, carrier);
  return carrier;
}

/** The trace context carried by headers (case-insensitively), on top of `base`. */
export function contextFromHeaders(
  headers: Readonly<Record<string, string>>,
  base: Context = ROOT_CONTEXT,
): Context {
  const lower: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) lower[key.toLowerCase()] = value;
  return propagation.extract(base, lower);
}

/** The span context carried by headers, when they carry a valid one. */
export function spanContextFromHeaders(headers: Readonly<Record<string, string>>): SpanContext | undefined {
  const found = trace.getSpanContext(contextFromHeaders(headers));
  return found && trace.isSpanContextValid(found) ? found : undefined;
}

/** True when a recording span is active (tracing on and sampled). */
export function hasActiveSpan(): boolean {
  return trace.getActiveSpan()?.isRecording() ?? false;
}

/** `00-<trace id>-<span id>-<flags>` of a span. */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** Marks a span failed with the error (its message only: stacks and values stay in the logs). */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const message = error instanceof Error ? error.message : String(error);
  span.recordException(error instanceof Error ? error : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `fn` inside a new active span (a child of the active one, or of `parent`), ending it when `fn` settles and
 * marking it failed when `fn` throws.
 */
export async function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
  parent: Context = context.active(),
): Promise<T> {
  return batchlineTracer().startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Runs `fn` outside any trace, e.g. a background loop that a traced caller merely woke up. */
export function outsideTraces<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** Attributes naming the batch a span is about; docs/operations.md, "Find a batch's trace in Jaeger", searches by them. */
export function batchAttributes(batch: { batchLogId?: unknown; providerBatchId?: unknown }): Attributes {
  const attributes: Attributes = {};
  if (typeof batch.batchLogId === 'number') attributes['batchline.batch_log_id'] = batch.batchLogId;
  if (typeof batch.providerBatchId === 'string')
    attributes['batchline.provider_batch_id'] = batch.providerBatchId;
  return attributes;
}
