import type { EventOf } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { redactSecretsIn } from '@batchline/logging';
import { batchAttributes, recordFailure, traceparentOf } from '@batchline/telemetry';
import type { Consumer, ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { millis } from '@nats-io/transport-node';
import type { Context, Span } from '@opentelemetry/api';
import type { FailedMessage } from './dead-letters.ts';
import { PoisonMessageError, TransientError } from './errors.ts';
import type { BusNaming } from './naming.ts';
import { headersRecord } from './recorded.ts';
import type { ConsumerName, ConsumerSubject, StreamName } from './topology.ts';
import { inConsumerSpan, MessagingAttribute } from './tracing.ts';

/** What a handler knows about the delivery besides the event. */
export interface EventContext {
  /** The subject on the wire (with the namespace prefix, if any). */
  subject: string;
  /** Stream sequence. */
  seq: number;
  /** 1 on the first delivery. */
  deliveryCount: number;
  headers: Record<string, string>;
  /** The delivery's trace context (its consumer span's): publishes and records it causes continue it. */
  traceContext: Context;
  /** Resets the ack timer; the runner already does this periodically while the handler runs. */
  working(): void;
}

export type EventHandler<C extends ConsumerName> = MessageHandler<EventOf<ConsumerSubject<C>>>;
export type MessageHandler<T> = (message: T, ctx: EventContext) => Promise<void>;

/** The durable consumer a runner pulls from and how it reads a message body. */
export interface ConsumerBinding<T> {
  /** Durable consumer name. */
  name: string;
  stream: StreamName;
  /** Parses a body; whatever it throws dead-letters the message as invalid. */
  decode(data: Uint8Array): T;
}

export interface ConsumeOptions {
  /** Most handlers running at once (default 1). No more messages than free slots are pulled. */
  concurrency?: number;
  /** Nak delay after the n-th failed delivery is `retryDelaysMs[n-1]`, the last repeating. */
  retryDelaysMs?: readonly number[];
  /**
   * Wait for the server to confirm each ack (default true). A confirmation is a request per message (a reply
   * subscription entry, a timer and two stack-capturing errors in the client): a consumer taking thousands of
   * messages a second, whose handler is idempotent, sends plain acks instead; a lost one is a redelivery.
   */
  confirmAcks?: boolean;
}

export interface Consumption {
  /** The durable consumer's name: a `ConsumerName`, or the dead-letter recorder's. */
  readonly consumer: string;
  /** True while the durable consumer is found on the server and being pulled from. */
  readonly bound: boolean;
  /** Stops pulling and waits for the handlers in flight to settle their messages. */
  stop(): Promise<void>;
}

export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 5_000, 15_000, 30_000];

/** The nak delay after a failed delivery number `deliveryCount` (1-based). */
export function retryDelayMs(
  deliveryCount: number,
  delays: readonly number[] = DEFAULT_RETRY_DELAYS_MS,
): number {
  if (delays.length === 0) return 0;
  return delays[Math.min(Math.max(deliveryCount, 1), delays.length) - 1]!;
}

/** How long one pull request waits for messages; stop() cuts it short. */
const FETCH_EXPIRES_MS = 10_000;
/** Pause before pulling again after the server could not be reached or the consumer was missing. */
const REBIND_PAUSE_MS = 1_000;
const DLQ_ERROR_MAX_LENGTH = 500;

interface RunnerDeps {
  js: JetStreamClient;
  naming: BusNaming;
  log: Logger;
  /** Copies a failed message to the DLQ and announces it (see `recordDeadLetter`). */
  recordDeadLetter(failed: FailedMessage): Promise<number>;
}

/** One line of redacted, bounded error text that is safe in a header and in logs. */
export function errorText(err: unknown): string {
  const text = redactSecretsIn(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  return text.replace(/[\r\n]+/g, ' ').slice(0, DLQ_ERROR_MAX_LENGTH);
}

/** An interruptible sleep. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Pulls from one durable consumer and runs the handler on each message, settling every message exactly one way:
 * ack, nak with delay, or dead-letter + term.
 *
 * It uses bounded `fetch` requests sized to the free handler slots rather than `consume()`: `consume()` prefetches,
 * so messages would wait in the client for a slot while their ack timer runs (and its heartbeat monitor misfires
 * while the loop waits). A fetch that ends — expired, heartbeats missed, server restarted, consumer gone — is simply
 * issued again until `stop()`.
 */
export class ConsumptionRunner<T> implements Consumption {
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly retryDelays: readonly number[];
  private readonly confirmAcks: boolean;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopSignal = new AbortController();
  private pulling: ConsumerMessages | null = null;
  private jsConsumer: Consumer | null = null;
  private ackWaitMs = 30_000;
  private maxDeliver = -1;
  private loop: Promise<void> = Promise.resolve();

  readonly consumer: string;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly binding: ConsumerBinding<T>,
    private readonly handler: MessageHandler<T>,
    options: ConsumeOptions = {},
  ) {
    this.consumer = binding.name;
    this.log = deps.log.child({ consumer: binding.name });
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    this.retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.confirmAcks = options.confirmAcks ?? true;
  }

  get bound(): boolean {
    return this.jsConsumer !== null && !this.stopSignal.signal.aborted;
  }

  start(): this {
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    if (!this.stopSignal.signal.aborted) {
      this.stopSignal.abort();
      this.pulling?.stop();
    }
    await this.loop;
  }

  private get stopping(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const consumer = this.jsConsumer ?? (await this.bind());
      if (!consumer) break;
      const free = this.concurrency - this.inFlight.size;
      if (free === 0) {
        await Promise.race(this.inFlight);
        continue;
      }
      try {
        const messages = await consumer.fetch({ max_messages: free, expires: FETCH_EXPIRES_MS });
        if (this.stopping) {
          messages.stop();
          break;
        }
        this.pulling = messages;
        for await (const msg of messages) this.track(this.process(msg));
      } catch (err) {
        // Heartbeats missed, consumer deleted, connection trouble: look the consumer up again, then pull again.
        if (!this.stopping) {
          this.log.warn({ err }, 'pulling messages failed; pulling again');
          this.jsConsumer = null;
          await pause(REBIND_PAUSE_MS, this.stopSignal.signal);
        }
      } finally {
        this.pulling = null;
      }
    }
    await Promise.all(this.inFlight);
  }

  /** Looks the durable consumer up until found (or stopped) and reads the limits the runner needs from it. */
  private async bind(): Promise<Consumer | null> {
    const stream = this.deps.naming.stream(this.binding.stream);
    let failures = 0;
    while (!this.stopping) {
      try {
        const consumer = await this.deps.js.consumers.get(stream, this.consumer);
        const { config } = await consumer.info(true);
        this.ackWaitMs = config.ack_wait ? millis(config.ack_wait) : this.ackWaitMs;
        this.maxDeliver = config.max_deliver ?? -1;
        this.jsConsumer = consumer;
        if (failures > 0) this.log.info({ stream }, 'consumer bound again');
        return consumer;
      } catch (err) {
        if (failures === 0) this.log.warn({ err, stream }, 'cannot bind consumer; retrying');
        failures++;
        await pause(REBIND_PAUSE_MS, this.stopSignal.signal);
      }
    }
    return null;
  }

  private track(processing: Promise<void>): void {
    // process() settles every outcome itself; this only keeps a bug from stopping the loop (the server redelivers).
    const work = processing.catch((err) =>
      this.log.error({ err }, 'processing a message failed unexpectedly'),
    );
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Handles one delivery inside a consumer span (a child of the context the message carries). */
  private process(msg: JsMsg): Promise<void> {
    const headers = headersRecord(msg.headers);
    const delivery = {
      plainSubject: this.deps.naming.plainSubject(msg.subject),
      wireSubject: msg.subject,
      headers,
      consumer: this.consumer,
      stream: msg.info.stream,
      seq: msg.seq,
      deliveryCount: msg.info.deliveryCount,
      bodySize: msg.data.byteLength,
    };
    return inConsumerSpan(delivery, (span, traceContext) => this.handle(msg, headers, span, traceContext));
  }

  private async handle(
    msg: JsMsg,
    headers: Record<string, string>,
    span: Span,
    traceContext: Context,
  ): Promise<void> {
    const deliveryCount = msg.info.deliveryCount;
    const where = { subject: msg.subject, seq: msg.seq, deliveryCount, traceparent: traceparentOf(span) };

    let message: T;
    try {
      message = this.binding.decode(msg.data);
    } catch (err) {
      return this.deadLetter(msg, headers, span, err, 'invalid event');
    }
    if (span.isRecording() && typeof message === 'object' && message !== null) {
      span.setAttributes(batchAttributes(message));
    }

    const working = () => this.settle(msg, 'working', () => msg.working());
    // Keeps a long handler's message from being redelivered at ack_wait.
    const heartbeat = setInterval(working, Math.max(100, Math.floor(this.ackWaitMs / 3)));
    let failure: unknown = null;
    let failed = false;
    try {
      await this.handler(message, { ...where, headers, traceContext, working });
    } catch (err) {
      failure = err;
      failed = true;
    } finally {
      clearInterval(heartbeat);
    }

    if (!failed) {
      span.setAttribute(MessagingAttribute.settlement, 'ack');
      if (!this.confirmAcks) return this.settle(msg, 'ack', () => msg.ack());
      try {
        await msg.ackAck();
      } catch (err) {
        this.log.warn({ ...where, err }, 'ack not confirmed; the message may be delivered again');
      }
      return;
    }
    if (failure instanceof PoisonMessageError)
      return this.deadLetter(msg, headers, span, failure, 'handler rejected the event');
    if (this.maxDeliver > 0 && deliveryCount >= this.maxDeliver) {
      return this.deadLetter(msg, headers, span, failure, `failed on all ${this.maxDeliver} deliveries`);
    }
    const delay = Math.max(
      retryDelayMs(deliveryCount, this.retryDelays),
      failure instanceof TransientError ? (failure.retryAfterMs ?? 0) : 0,
    );
    const level = failure instanceof TransientError ? 'warn' : 'error';
    this.log[level]({ ...where, err: failure, retryInMs: delay }, 'handler failed; will retry');
    recordFailure(span, failure);
    span.setAttribute(MessagingAttribute.settlement, 'nak');
    this.settle(msg, 'nak', () => msg.nak(delay));
  }

  /** Copies the message to the DLQ with why and where it failed (and announces it), then terminates it. */
  private async deadLetter(
    msg: JsMsg,
    headers: Record<string, string>,
    span: Span,
    err: unknown,
    reason: string,
  ): Promise<void> {
    const { stream, streamSequence, deliveryCount } = msg.info;
    recordFailure(span, err);
    try {
      await this.deps.recordDeadLetter({
        wireSubject: msg.subject,
        stream,
        streamSeq: streamSequence,
        consumer: this.consumer,
        deliveryCount,
        error: errorText(err),
        via: 'runner',
        data: msg.data,
        headers,
      });
    } catch (publishErr) {
      const delay = retryDelayMs(deliveryCount, this.retryDelays);
      this.log.error(
        { subject: msg.subject, seq: streamSequence, err: publishErr, retryInMs: delay },
        'dead-lettering failed; the message will be delivered again',
      );
      span.setAttribute(MessagingAttribute.settlement, 'nak');
      this.settle(msg, 'nak', () => msg.nak(delay));
      return;
    }
    span.setAttribute(MessagingAttribute.settlement, 'dead_letter');
    this.settle(msg, 'term', () => msg.term());
    this.log.error(
      { subject: msg.subject, seq: streamSequence, deliveryCount, reason, err },
      `message dead-lettered: ${reason}`,
    );
  }

  /** Ack-protocol sends fail only when the connection is closed; the server then redelivers, so log and go on. */
  private settle(msg: JsMsg, kind: string, send: () => void): void {
    try {
      send();
    } catch (err) {
      this.log.warn({ subject: msg.subject, seq: msg.seq, err }, `could not send ${kind}`);
    }
  }
}
