import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/nats-core';
import type { BusNaming } from './naming.ts';
import type { StreamName } from './topology.ts';

/** A message as a stream keeps it. */
export interface RecordedMessage {
  /** Plain stream name. */
  stream: StreamName;
  seq: number;
  /** Subject without the namespace prefix. */
  subject: string;
  /** When the stream stored it. */
  time: Date;
  headers: Record<string, string>;
  data: Uint8Array;
}

/** Which messages of a stream to read; every bound is inclusive. */
export interface StreamSelection {
  /** Plain subject (wildcards allowed); all of the stream's subjects when unset. */
  subject?: string;
  fromSeq?: number;
  toSeq?: number;
  since?: Date;
  until?: Date;
}

export function headersRecord(headers: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of headers?.keys() ?? []) out[key] = headers!.get(key);
  return out;
}

/** Messages per pull while reading. */
const READ_BATCH = 256;
/** How long one pull waits; reading ends earlier, at the last message that was stored when it began. */
const READ_EXPIRES_MS = 5_000;

/**
 * Reads a stream's messages in order through an ordered (ephemeral, unacknowledged) consumer, so durable
 * consumers are not affected. It stops at the stream's last message when reading began: what is published while
 * reading (e.g. the copies a replay sends to the same stream) is not read.
 */
export async function* readStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  naming: BusNaming,
  stream: StreamName,
  selection: StreamSelection = {},
): AsyncGenerator<RecordedMessage> {
  const name = naming.stream(stream);
  const { state } = await jsm.streams.info(name);
  const lastSeq = Math.min(state.last_seq, selection.toSeq ?? Number.POSITIVE_INFINITY);
  if (state.messages === 0 || lastSeq < Math.max(state.first_seq, selection.fromSeq ?? 0)) return;

  const start = selection.fromSeq
    ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: selection.fromSeq }
    : selection.since
      ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: selection.since.toISOString() }
      : { deliver_policy: DeliverPolicy.All };
  const consumer = await js.consumers.get(name, {
    ...start,
    ...(selection.subject ? { filter_subjects: naming.subject(selection.subject) } : {}),
  });
  try {
    if ((await consumer.info()).num_pending === 0) return;
    for (;;) {
      const batch = await consumer.fetch({ max_messages: READ_BATCH, expires: READ_EXPIRES_MS });
      let received = 0;
      for await (const msg of batch) {
        received += 1;
        if (msg.seq > lastSeq) return;
        const time = msg.time;
        if (selection.since && time < selection.since) continue;
        if (selection.until && time > selection.until) return;
        yield {
          stream,
          seq: msg.seq,
          subject: naming.plainSubject(msg.subject),
          time,
          headers: headersRecord(msg.headers),
          data: msg.data,
        };
        if (msg.seq === lastSeq || msg.info.pending === 0) return;
      }
      if (received === 0) return;
    }
  } finally {
    await consumer.delete().catch(() => false);
  }
}
