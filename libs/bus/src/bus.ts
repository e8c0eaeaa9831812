import {
  decodeEvent,
  type EncodedResultsChunk,
  type EventOf,
  encodeEvent,
  isEventSubject,
  type Subject,
  Subjects,
} from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { redactSecretsIn } from '@batchline/logging';
import { ensureTracePropagation, spanContextFromHeaders } from '@batchline/telemetry';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import type { Context } from '@opentelemetry/api';
import { type QueueBacklog, queueBacklog } from './backlog.ts';
import { type ConsumeOptions, type Consumption, ConsumptionRunner, type EventHandler } from './consume.ts';
import {
  type FailedMessage,
  MaxDeliveriesAdvisory,
  recordDeadLetter,
  subjectOfConsumer,
} from './dead-letters.ts';
import { BusConnectionError, PoisonMessageError } from './errors.ts';
import { type BusNaming, busNaming } from './naming.ts';
import { headersRecord, type RecordedMessage, readStream, type StreamSelection } from './recorded.ts';
import {
  type ConsumerName,
  type ConsumerSubject,
  Consumers,
  DLQ_RECORDER,
  DLQ_RECORDER_STREAM,
  ensureTopology,
  type StreamName,
  Streams,
  type TopologyOptions,
  type TopologyReport,
} from './topology.ts';
import { inProducerSpan } from './tracing.ts';

export interface BusOptions {
  /** NATS server URLs; credentials inside them are used but never logged. */
  servers: string[];
  /** Connection name shown by the server (the service name). */
  name: string;
  /** Subject/stream prefix isolating tests on a shared server; '' (default) in production. */
  namespace?: string;
  log: Logger;
}

export interface PublishOptions {
  /** JetStream de-duplication id (`Nats-Msg-Id`): deterministic per logical message. */
  msgId: string;
  /**
   * Extra headers. The message carries the trace context of its producer span, a child of `parent`, else of the
   * active span, else of the trace context in these headers.
   */
  headers?: Record<string, string>;
  /** The work that caused this message, e.g. the `traceContext` of the delivery being handled. */
  parent?: Context;
}

export interface RawPublishOptions {
  /** Headers of the messages this one re-sends (a replay, a redrive): their trace contexts become span links. */
  linkedTo?: readonly Readonly<Record<string, string>>[];
}

export interface PublishResult {
  /** Stream sequence of the stored message (of the original, for a duplicate). */
  seq: number;
  /** True when the stream already had a message with this msgId inside its duplicate window. */
  duplicate: boolean;
}

export interface BusStatus {
  connected: boolean;
  consumers: { consumer: string; bound: boolean }[];
  /** Connected and every running consumption bound to its consumer. */
  ready: boolean;
}

export interface Bus {
  readonly naming: BusNaming;
  /** Creates or updates the streams and consumers of the declared topology. */
  ensureTopology(options?: TopologyOptions): Promise<TopologyReport>;
  /** Validates, encodes and publishes an event; throws `EventValidationError` naming the bad field. */
  publish<S extends Subject>(subject: S, event: EventOf<S>, opts: PublishOptions): Promise<PublishResult>;
  /** Publishes a results chunk built by `encodeResultsChunk` (its records encoded once, checked by consumers). */
  publishResultsChunk(chunk: EncodedResultsChunk, opts: PublishOptions): Promise<PublishResult>;
  /**
   * Publishes already-encoded bytes on a plain subject (an outbox relay). Bodies of known event subjects are
   * still validated.
   */
  publishRaw(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
    options?: RawPublishOptions,
  ): Promise<PublishResult>;
  /** Starts running `handler` on the consumer's messages until the consumption (or the bus) is stopped. */
  consume<C extends ConsumerName>(consumer: C, handler: EventHandler<C>, opts?: ConsumeOptions): Consumption;
  /**
   * Runs the dead-letter recorder: each max-deliveries advisory of our consumers (a message JetStream gave up
   * redelivering without any handler settling it) becomes a dead letter, like the ones the runner records.
   */
  recordDeadLetters(opts?: ConsumeOptions): Consumption;
  /**
   * A stream's messages, oldest first, as selected; read through an ordered consumer, so durable consumers are
   * not affected. Ends at the last message stored when reading began.
   */
  readStream(stream: StreamName, selection?: StreamSelection): AsyncIterable<RecordedMessage>;
  /** One message of a stream by sequence; null when the stream does not have it (any more). */
  getRecorded(stream: StreamName, seq: number): Promise<RecordedMessage | null>;
  /** Deletes one message of a stream; false when it was not there. */
  deleteRecorded(stream: StreamName, seq: number): Promise<boolean>;
  status(): BusStatus;
  /** How far behind the durable consumers are, and how many dead letters the DLQ holds. */
  backlog(): Promise<QueueBacklog>;
  /** Deletes this namespace's streams (and so their consumers): for tests and the demo, never for production. */
  deleteTopology(): Promise<void>;
  /** Stops every consumption (waiting for handlers in flight), then drains and closes the connection. */
  drain(): Promise<void>;
}

/** W3C trace context headers: written by the propagator from the producer span, not copied from the caller's. */
const TRACE_HEADERS = new Set(['traceparent', 'tracestate']);

/** Strips user info from a server URL so that it can be shown. */
function describeServer(server: string): string {
  return redactSecretsIn(server.replace(/\/\/[^/@\s]*@/, '//'));
}

class NatsBus implements Bus {
  private connected = true;
  private readonly consumptions = new Set<Consumption>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly naming: BusNaming,
    private readonly log: Logger,
  ) {
    void this.watchConnection();
  }

  ensureTopology(options: TopologyOptions = {}): Promise<TopologyReport> {
    return ensureTopology(this.jsm, this.naming, options, this.log);
  }

  async deleteTopology(): Promise<void> {
    for (const stream of Object.keys(Streams)) {
      await this.jsm.streams.delete(this.naming.stream(stream)).catch(() => false);
    }
  }

  async publish<S extends Subject>(
    subject: S,
    event: EventOf<S>,
    opts: PublishOptions,
  ): Promise<PublishResult> {
    return this.send(subject, encodeEvent(subject, event), opts.msgId, opts.headers, { parent: opts.parent });
  }

  async publishResultsChunk(chunk: EncodedResultsChunk, opts: PublishOptions): Promise<PublishResult> {
    return this.send(Subjects.resultsParsed, chunk.data, opts.msgId, opts.headers, { parent: opts.parent });
  }

  async publishRaw(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
    options: RawPublishOptions = {},
  ): Promise<PublishResult> {
    if (isEventSubject(subject)) decodeEvent(subject, data);
    return this.send(subject, data, msgId, headers, options);
  }

  consume<C extends ConsumerName>(consumer: C, handler: EventHandler<C>, opts?: ConsumeOptions): Consumption {
    const { stream, subject } = Consumers[consumer];
    return this.run(
      new ConsumptionRunner(
        this.runnerDeps(),
        {
          name: consumer,
          stream,
          decode: (data) => decodeEvent(subject, data) as EventOf<ConsumerSubject<C>>,
        },
        handler,
        opts,
      ),
    );
  }

  recordDeadLetters(opts?: ConsumeOptions): Consumption {
    const binding = {
      name: DLQ_RECORDER,
      stream: DLQ_RECORDER_STREAM,
      decode: (data: Uint8Array) => MaxDeliveriesAdvisory.parse(JSON.parse(new TextDecoder().decode(data))),
    };
    return this.run(
      new ConsumptionRunner(this.runnerDeps(), binding, (advisory) => this.recordGivenUp(advisory), opts),
    );
  }

  readStream(stream: StreamName, selection?: StreamSelection): AsyncIterable<RecordedMessage> {
    return readStream(this.js, this.jsm, this.naming, stream, selection);
  }

  async getRecorded(stream: StreamName, seq: number): Promise<RecordedMessage | null> {
    const stored = await this.jsm.streams.getMessage(this.naming.stream(stream), { seq });
    if (!stored) return null;
    return {
      stream,
      seq: stored.seq,
      subject: this.naming.plainSubject(stored.subject),
      time: stored.time,
      headers: headersRecord(stored.header),
      data: stored.data,
    };
  }

  backlog(): Promise<QueueBacklog> {
    return queueBacklog(this.jsm, this.naming);
  }

  deleteRecorded(stream: StreamName, seq: number): Promise<boolean> {
    return this.jsm.streams.deleteMessage(this.naming.stream(stream), seq, false).catch(() => false);
  }

  private runnerDeps() {
    return {
      js: this.js,
      naming: this.naming,
      log: this.log,
      recordDeadLetter: (failed: FailedMessage) => recordDeadLetter(this, failed),
    };
  }

  /** Records the message a max-deliveries advisory is about, as JetStream still has it. */
  private async recordGivenUp(advisory: MaxDeliveriesAdvisory): Promise<void> {
    const stored = await this.jsm.streams.getMessage(advisory.stream, { seq: advisory.stream_seq });
    const wireSubject = stored?.subject ?? subjectOfConsumer(this.naming, advisory.stream, advisory.consumer);
    if (!wireSubject) {
      throw new PoisonMessageError(`advisory about ${advisory.stream}/${advisory.consumer}, not one of ours`);
    }
    const why = `not settled after ${advisory.deliveries} deliveries (max_deliver): no handler finished it`;
    const dlqSeq = await recordDeadLetter(this, {
      wireSubject,
      stream: advisory.stream,
      streamSeq: advisory.stream_seq,
      consumer: advisory.consumer,
      deliveryCount: advisory.deliveries,
      error: stored ? why : `${why}; the message is no longer in the stream`,
      via: 'max_deliveries',
      data: stored?.data ?? new Uint8Array(),
      headers: headersRecord(stored?.header),
    });
    this.log.error(
      { subject: wireSubject, seq: advisory.stream_seq, consumer: advisory.consumer, dlqSeq },
      'message dead-lettered: JetStream gave up redelivering it',
    );
  }

  private run<T>(runner: ConsumptionRunner<T>): Consumption {
    runner.start();
    const consumption: Consumption = {
      consumer: runner.consumer,
      get bound() {
        return runner.bound;
      },
      stop: async () => {
        await runner.stop();
        this.consumptions.delete(consumption);
      },
    };
    this.consumptions.add(consumption);
    return consumption;
  }

  status(): BusStatus {
    const connected = this.connected && !this.nc.isClosed() && !this.nc.isDraining();
    const consumers = [...this.consumptions].map((c) => ({ consumer: c.consumer, bound: c.bound }));
    return { connected, consumers, ready: connected && consumers.every((c) => c.bound) };
  }

  async drain(): Promise<void> {
    await Promise.all([...this.consumptions].map((c) => c.stop()));
    if (!this.nc.isClosed() && !this.nc.isDraining()) await this.nc.drain();
  }

  private async send(
    plainSubject: string,
    data: Uint8Array,
    msgId: string,
    extraHeaders: Record<string, string> = {},
    { linkedTo = [], parent }: RawPublishOptions & { parent?: Context | undefined } = {},
  ): Promise<PublishResult> {
    if (!msgId) throw new TypeError('publish needs a non-empty msgId (JetStream de-duplication)');
    const wireSubject = this.naming.subject(plainSubject);
    const links = linkedTo.flatMap((headers) => {
      const linked = spanContextFromHeaders(headers);
      return linked ? [{ context: linked }] : [];
    });
    const message = {
      plainSubject,
      wireSubject,
      msgId,
      bodySize: data.byteLength,
      headers: extraHeaders,
      links,
      parent,
    };
    return inProducerSpan(message, async (traceContext) => {
      const h = natsHeaders();
      for (const [key, value] of Object.entries(extraHeaders)) {
        if (!TRACE_HEADERS.has(key.toLowerCase())) h.set(key, value);
      }
      for (const [key, value] of Object.entries(traceContext)) h.set(key, value);
      const ack = await this.js.publish(wireSubject, data, { msgID: msgId, headers: h });
      return { seq: ack.seq, duplicate: ack.duplicate };
    });
  }

  /** Logs connection status changes; ends when the connection closes. */
  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          this.log.warn({ server: describeServer(s.server) }, 'NATS disconnected; reconnecting');
          break;
        case 'reconnect':
          this.connected = true;
          this.log.info({ server: describeServer(s.server) }, 'NATS reconnected');
          break;
        case 'reconnecting':
          this.log.debug('NATS reconnect attempt');
          break;
        case 'error':
          this.log.error({ err: s.error }, 'NATS connection error');
          break;
        case 'staleConnection':
          this.log.warn('NATS connection stale; reconnecting');
          break;
        case 'ldm':
          this.log.warn({ server: describeServer(s.server) }, 'NATS server entering lame duck mode');
          break;
        case 'slowConsumer':
          this.log.warn({ pending: s.pending }, 'NATS slow consumer');
          break;
        default:
          break;
      }
    }
  }
}

/**
 * Connects to NATS (reconnecting forever after the first connection) and returns the bus. Fails with a
 * `BusConnectionError` when no server can be reached at start.
 */
export async function connectBus(options: BusOptions): Promise<Bus> {
  const naming = busNaming(options.namespace ?? '');
  const log = options.log.child({ component: 'bus' });
  await ensureTracePropagation();
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Notice a silently dead connection within about a minute instead of the default ~4–6 (docs/fault-injection.md, what batchline assumes of NATS).
      pingInterval: 20_000,
    });
  } catch (err) {
    const where = options.servers.map(describeServer).join(', ');
    const why = err instanceof Error ? redactSecretsIn(err.message) : 'unknown error';
    throw new BusConnectionError('BUS_UNREACHABLE', `cannot connect to NATS at ${where}: ${why}`);
  }
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  log.info(
    { servers: options.servers.map(describeServer), namespace: naming.namespace },
    'connected to NATS',
  );
  return new NatsBus(nc, js, jsm, naming, log);
}
