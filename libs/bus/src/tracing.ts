import {
  contextFromHeaders,
  hasActiveSpan,
  spanContextFromHeaders,
  traceHeaders,
  withSpan,
} from '@batchline/telemetry';
import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';

/**
 * Producer and consumer spans following OpenTelemetry's messaging conventions: the W3C context travels in the
 * NATS headers (`traceparent`, `tracestate`); a consumer's span is a child of the context its message carries
 * and links to it (the conventions' "creation context" link). With tracing off these run their callbacks and
 * create nothing.
 */

const MESSAGING_SYSTEM = 'nats';

/** Names of the attributes we set (semantic conventions for messaging, plus the NATS/JetStream specifics). */
export const MessagingAttribute = {
  system: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destination: 'messaging.destination.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  consumerGroup: 'messaging.consumer.group.name',
  stream: 'messaging.nats.stream',
  streamSequence: 'messaging.nats.stream_sequence',
  deliveryCount: 'messaging.nats.delivery_count',
  duplicate: 'messaging.nats.duplicate',
  settlement: 'batchline.settlement',
} as const;

export interface OutgoingMessage {
  plainSubject: string;
  wireSubject: string;
  msgId: string;
  bodySize: number;
  /** Headers given by the caller: their trace context is the parent when no span is active (an outbox row). */
  headers: Readonly<Record<string, string>>;
  /** The work that caused this message (a consumer's delivery), when it is not the active context. */
  parent?: Context;
  /** Contexts this message is about besides its parent (e.g. the message a replay re-sends). */
  links?: Link[];
  attributes?: Attributes;
}

/**
 * Runs a publish inside a PRODUCER span named `publish <subject>`. Its parent is the given context, else the
 * active span (the handler or poll that caused the message), else the trace context in the given headers (an
 * outbox row written by a span that has ended since). `send` gets the producer span's context as headers, written
 * by the OpenTelemetry propagator: a `traceparent` on every message, sampled or not (see ensureTracePropagation).
 */
export function inProducerSpan<T extends { seq: number; duplicate: boolean }>(
  message: OutgoingMessage,
  send: (traceContext: Record<string, string>) => Promise<T>,
): Promise<T> {
  const parent =
    message.parent ??
    (hasActiveSpan() ? context.active() : contextFromHeaders(message.headers, context.active()));
  return withSpan(
    `publish ${message.plainSubject}`,
    {
      kind: SpanKind.PRODUCER,
      links: message.links,
      attributes: {
        [MessagingAttribute.system]: MESSAGING_SYSTEM,
        [MessagingAttribute.operationType]: 'send',
        [MessagingAttribute.operationName]: 'publish',
        [MessagingAttribute.destination]: message.wireSubject,
        [MessagingAttribute.messageId]: message.msgId,
        [MessagingAttribute.bodySize]: message.bodySize,
        ...message.attributes,
      },
    },
    async (span) => {
      const result = await send(traceHeaders(trace.setSpan(parent, span)));
      span.setAttributes({
        [MessagingAttribute.streamSequence]: result.seq,
        [MessagingAttribute.duplicate]: result.duplicate,
      });
      return result;
    },
    parent,
  );
}

export interface IncomingMessage {
  plainSubject: string;
  wireSubject: string;
  headers: Readonly<Record<string, string>>;
  consumer: string;
  stream: string;
  seq: number;
  deliveryCount: number;
  bodySize: number;
}

/**
 * Runs the processing of one delivery inside a CONSUMER span `process <subject>`, child of the message's context.
 * `process` gets the span and its context: what the delivery causes continues that context.
 */
export function inConsumerSpan<T>(
  message: IncomingMessage,
  process: (span: Span, spanContext: Context) => Promise<T>,
): Promise<T> {
  const creation = spanContextFromHeaders(message.headers);
  const parent = contextFromHeaders(message.headers);
  return withSpan(
    `process ${message.plainSubject}`,
    {
      kind: SpanKind.CONSUMER,
      links: creation ? [{ context: creation }] : [],
      attributes: {
        [MessagingAttribute.system]: MESSAGING_SYSTEM,
        [MessagingAttribute.operationType]: 'process',
        [MessagingAttribute.operationName]: 'process',
        [MessagingAttribute.destination]: message.wireSubject,
        [MessagingAttribute.consumerGroup]: message.consumer,
        [MessagingAttribute.stream]: message.stream,
        [MessagingAttribute.streamSequence]: message.seq,
        [MessagingAttribute.deliveryCount]: message.deliveryCount,
        [MessagingAttribute.bodySize]: message.bodySize,
        ...(message.headers['Nats-Msg-Id']
          ? { [MessagingAttribute.messageId]: message.headers['Nats-Msg-Id'] }
          : {}),
      },
    },
    (span) => process(span, trace.setSpan(parent, span)),
    parent,
  );
}
