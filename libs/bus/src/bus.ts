import type { Logger } from '@batchline/logging';
import { redactSecretsIn } from '@batchline/logging';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { decodeEvent, encodeEvent, isEventSubject } from './codec.ts';
import { type ConsumeOptions, type Consumption, ConsumptionRunner, type EventHandler } from './consume.ts';
import { BusConnectionError } from './errors.ts';
import type { EventOf, Subject } from './events.ts';
import { type BusNaming, busNaming } from './naming.ts';
import {
  type ConsumerName,
  ensureTopology,
  Streams,
  type TopologyOptions,
  type TopologyReport,
} from './topology.ts';
import { isValidTraceparent, newTraceparent } from './trace.ts';

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
  /** Extra headers; a valid `traceparent` here is kept, otherwise a new trace is started. */
  headers?: Record<string, string>;
}

export interface PublishResult {
  /** Stream sequence of the stored message (of the original, for a duplicate). */
  seq: number;
  /** True when the stream already had a message with this msgId inside its duplicate window. */
  duplicate: boolean;
}

export interface BusStatus {
  connected: boolean;
  consumers: { consumer: ConsumerName; bound: boolean }[];
  /** Connected and every running consumption bound to its consumer. */
  ready: boolean;
}

export interface Bus {
  readonly naming: BusNaming;
  /** Creates or updates the streams and consumers of the declared topology. */
  ensureTopology(options?: TopologyOptions): Promise<TopologyReport>;
  /** Validates, encodes and publishes an event; throws `EventValidationError` naming the bad field. */
  publish<S extends Subject>(subject: S, event: EventOf<S>, opts: PublishOptions): Promise<PublishResult>;
  /**
   * Publishes already-encoded bytes on a plain subject (an outbox relay). Bodies of known event subjects are
   * still validated.
   */
  publishRaw(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
  ): Promise<PublishResult>;
  /** Starts running `handler` on the consumer's messages until the consumption (or the bus) is stopped. */
  consume<C extends ConsumerName>(consumer: C, handler: EventHandler<C>, opts?: ConsumeOptions): Consumption;
  status(): BusStatus;
  /** Deletes this namespace's streams (and so their consumers): for tests and the demo, never for production. */
  deleteTopology(): Promise<void>;
  /** Stops every consumption (waiting for handlers in flight), then drains and closes the connection. */
  drain(): Promise<void>;
}

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
    return this.send(subject, encodeEvent(subject, event), opts.msgId, opts.headers);
  }

  async publishRaw(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
  ): Promise<PublishResult> {
    if (isEventSubject(subject)) decodeEvent(subject, data);
    return this.send(subject, data, msgId, headers);
  }

  consume<C extends ConsumerName>(consumer: C, handler: EventHandler<C>, opts?: ConsumeOptions): Consumption {
    const runner = new ConsumptionRunner(
      {
        js: this.js,
        naming: this.naming,
        log: this.log,
        publishRaw: (subject, data, msgId, headers) => this.publishRaw(subject, data, msgId, headers),
      },
      consumer,
      handler,
      opts,
    ).start();
    const consumption: Consumption = {
      consumer,
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
  ): Promise<PublishResult> {
    if (!msgId) throw new TypeError('publish needs a non-empty msgId (JetStream de-duplication)');
    const h = natsHeaders();
    for (const [key, value] of Object.entries(extraHeaders)) {
      if (key.toLowerCase() !== 'traceparent') h.set(key, value);
    }
    const given = extraHeaders.traceparent;
    h.set('traceparent', isValidTraceparent(given) ? given : newTraceparent());
    const ack = await this.js.publish(this.naming.subject(plainSubject), data, { msgID: msgId, headers: h });
    return { seq: ack.seq, duplicate: ack.duplicate };
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
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // Notice a silently dead connection within about a minute instead of the default ~4–6 (reliability.md A10).
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
