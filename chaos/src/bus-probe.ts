import { type BusNaming, busNaming, Consumers, DlqHeaders, type StreamName } from '@batchline/bus';
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';

/** Msg ids of everything the harness publishes start with this, so the checks can tell originals apart. */
export const CHAOS_MSG_ID_PREFIX = 'chaos:';
const MSG_ID_HEADER = 'Nats-Msg-Id';
/** Marks the poison the harness publishes: replays never copy it (the DLQ must hold exactly what was injected). */
const POISON_HEADER = 'Chaos-Poison';

export interface ConsumerState {
  consumer: string;
  stream: string;
  pending: number;
  ackPending: number;
  redelivered: number;
}

export interface DeadLetter {
  seq: number;
  subject: string;
  originStream: string;
  originSeq: number;
  error: string;
}

/** A message of a stream as the checks need it. */
export interface RecordedMessage {
  seq: number;
  subject: string;
  msgId: string;
  headers: Record<string, string>;
  data: Uint8Array;
}

/**
 * The harness's own view of JetStream, through the public protocol only: consumer states, stored messages, and
 * the event faults (republishing recorded events with new msg ids; publishing poison).
 */
export class BusProbe {
  private republished = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly naming: BusNaming,
  ) {}

  static async connect(url: string, namespace: string): Promise<BusProbe> {
    // Reconnect for ever: the nemesis restarts the server under this connection.
    const nc = await connect({
      servers: url,
      name: 'chaos-harness',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    return new BusProbe(nc, jetstream(nc, { timeout: 10_000 }), jsm, busNaming(namespace));
  }

  async close(): Promise<void> {
    await this.nc.close();
  }

  /** The consumers the run's services read with (another service's would only pile up what nobody reads here). */
  async consumerStates(services: readonly string[]): Promise<ConsumerState[]> {
    return Promise.all(
      Object.entries(Consumers)
        .filter(([, spec]) => services.includes(spec.service))
        .map(async ([consumer, spec]) => {
          const stream = this.naming.stream(spec.stream);
          const info = await this.jsm.consumers.info(stream, consumer);
          return {
            consumer,
            stream,
            pending: info.num_pending,
            ackPending: info.num_ack_pending,
            redelivered: info.num_redelivered,
          };
        }),
    );
  }

  /** Sequence range of a stream (first..last; empty when last < first). */
  async streamRange(plain: StreamName): Promise<{ first: number; last: number }> {
    const { state } = await this.jsm.streams.info(this.naming.stream(plain));
    return { first: state.first_seq, last: state.last_seq };
  }

  /** The stored messages of a stream in [from, to], read a few at a time. */
  async messages(plain: StreamName, from: number, to: number): Promise<RecordedMessage[]> {
    const stream = this.naming.stream(plain);
    const out: RecordedMessage[] = [];
    const CONCURRENCY = 16;
    for (let start = from; start <= to; start += CONCURRENCY) {
      const seqs = Array.from({ length: Math.min(CONCURRENCY, to - start + 1) }, (_, i) => start + i);
      const found = await Promise.all(
        seqs.map((seq) => this.jsm.streams.getMessage(stream, { seq }).catch(() => null)),
      );
      for (const message of found) if (message) out.push(recorded(message));
    }
    return out;
  }

  /**
   * Publishes stored messages again under new msg ids (BI8/BI9), as a replay would; their bodies and trace
   * headers are kept. Returns how many were republished.
   */
  async republish(plain: StreamName, seqs: readonly number[], label: string): Promise<number> {
    const stream = this.naming.stream(plain);
    let count = 0;
    for (const seq of seqs) {
      const original = await this.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!original || original.header?.has(POISON_HEADER)) continue;
      const headers = natsHeaders();
      const traceparent = original.header?.get('traceparent');
      if (traceparent) headers.set('traceparent', traceparent);
      headers.set('Chaos-Replay-Of', `${stream}:${seq}`);
      this.republished += 1;
      await this.js.publish(original.subject, original.data, {
        msgID: `${CHAOS_MSG_ID_PREFIX}${label}:${this.republished}`,
        headers,
      });
      count += 1;
    }
    return count;
  }

  /** Publishes a body that no event schema accepts; returns where it was stored (it must end in the DLQ). */
  async publishPoison(plainSubject: string, label: string): Promise<{ stream: string; seq: number }> {
    const body = new TextEncoder().encode(
      JSON.stringify({ chaos: 'poison', label, batchLogId: 'not-a-number' }),
    );
    const headers = natsHeaders();
    headers.set(POISON_HEADER, label);
    const ack = await this.js.publish(this.naming.subject(plainSubject), body, {
      msgID: `${CHAOS_MSG_ID_PREFIX}poison:${label}`,
      headers,
    });
    return { stream: ack.stream, seq: ack.seq };
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const { first, last } = await this.streamRange('DLQ');
    if (last < first) return [];
    return (await this.messages('DLQ', first, last)).map((message) => ({
      seq: message.seq,
      subject: message.subject,
      originStream: message.headers[DlqHeaders.stream] ?? '',
      originSeq: Number(message.headers[DlqHeaders.seq] ?? Number.NaN),
      error: message.headers[DlqHeaders.error] ?? '',
    }));
  }
}

function recorded(message: StoredMsg): RecordedMessage {
  const headers: Record<string, string> = {};
  for (const key of message.header?.keys() ?? []) headers[key] = message.header.get(key);
  return {
    seq: message.seq,
    subject: message.subject,
    msgId: headers[MSG_ID_HEADER] ?? '',
    headers,
    data: message.data,
  };
}
