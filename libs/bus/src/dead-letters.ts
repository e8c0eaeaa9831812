import { PROVIDERS, type ProviderName } from '@batchline/domain';
import { type OpsErrorEvent, Subjects } from '@batchline/events';
import { z } from 'zod';
import type { Bus, PublishResult } from './bus.ts';
import type { BusNaming } from './naming.ts';
import type { RecordedMessage } from './recorded.ts';
import { copiedHeaders } from './replay.ts';
import { Consumers, dlqSubjectFor, type StreamName } from './topology.ts';

/** Headers a dead letter carries besides the original's own: where it came from and why it failed. */
export const DlqHeaders = {
  subject: 'Batchline-Dlq-Subject',
  stream: 'Batchline-Dlq-Stream',
  seq: 'Batchline-Dlq-Seq',
  deliveryCount: 'Batchline-Dlq-Delivery-Count',
  error: 'Batchline-Dlq-Error',
  consumer: 'Batchline-Dlq-Consumer',
  /** The original's `Nats-Msg-Id` (JetStream's own headers are not copied). */
  msgId: 'Batchline-Dlq-Msg-Id',
  /** `runner` or `max_deliveries`. */
  via: 'Batchline-Dlq-Via',
} as const;

const DLQ_HEADER_NAMES: ReadonlySet<string> = new Set(Object.values(DlqHeaders));

export type DeadLetterVia = 'runner' | 'max_deliveries';

/** A message that failed for good, as the runner or the advisory recorder found it. */
export interface FailedMessage {
  /** Subject on the wire. */
  wireSubject: string;
  /** Stream (name on the server) and sequence of the original. */
  stream: string;
  streamSeq: number;
  consumer: string;
  deliveryCount: number;
  /** Redacted, one line. */
  error: string;
  via: DeadLetterVia;
  data: Uint8Array;
  headers: Record<string, string>;
}

/** A dead letter as the DLQ stream keeps it. */
export interface DeadLetter extends Omit<FailedMessage, 'headers'> {
  dlqSeq: number;
  recordedAt: Date;
  /** The subject it failed on, without the namespace prefix: where a redrive publishes it. */
  subject: string;
  /** The original's msg id, if it had one. */
  originalMsgId: string | null;
  /** The original's headers (trace context and our own), without the dead-letter ones. */
  headers: Record<string, string>;
}

/** What dead-lettering needs of the bus. */
export interface DeadLetterPublisher {
  readonly naming: BusNaming;
  publishRaw(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
    options?: { linkedTo?: readonly Readonly<Record<string, string>>[] },
  ): Promise<{ seq: number; duplicate: boolean }>;
  publish(
    subject: typeof Subjects.opsError,
    event: OpsErrorEvent,
    opts: { msgId: string },
  ): Promise<{ seq: number; duplicate: boolean }>;
}

/** JetStream's own headers (msg id, expectations) must not travel with a copy. */
const isJetStreamHeader = (name: string): boolean => name.toLowerCase().startsWith('nats-');

/** The batch a message body names, when it is JSON naming one. */
function batchNamedBy(data: Uint8Array): {
  batchLogId: number | null;
  providerBatchId: string | null;
  provider: ProviderName | null;
} {
  const Named = z.object({
    batchLogId: z.number().int().positive().nullable().catch(null),
    providerBatchId: z.string().nullable().catch(null),
    provider: z.enum(PROVIDERS).nullable().catch(null),
  });
  try {
    return Named.parse(JSON.parse(new TextDecoder().decode(data)));
  } catch {
    return { batchLogId: null, providerBatchId: null, provider: null };
  }
}

/**
 * Copies a failed message to `dlq.<subject>` (msg id `dlq:<stream>:<seq>`, so recording the same failure twice
 * keeps one copy) with the original's payload and headers plus where and why it failed, then announces it with
 * an `ops.error` event of kind `dead_lettered` (one per dead letter) for the notifier. Returns the copy's DLQ
 * sequence.
 */
export async function recordDeadLetter(bus: DeadLetterPublisher, failed: FailedMessage): Promise<number> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(failed.headers)) {
    if (!isJetStreamHeader(name) && !DLQ_HEADER_NAMES.has(name)) headers[name] = value;
  }
  const originalMsgId = failed.headers['Nats-Msg-Id'];
  Object.assign(headers, {
    [DlqHeaders.subject]: failed.wireSubject,
    [DlqHeaders.stream]: failed.stream,
    [DlqHeaders.seq]: String(failed.streamSeq),
    [DlqHeaders.deliveryCount]: String(failed.deliveryCount),
    [DlqHeaders.error]: failed.error,
    [DlqHeaders.consumer]: failed.consumer,
    [DlqHeaders.via]: failed.via,
    ...(originalMsgId ? { [DlqHeaders.msgId]: originalMsgId } : {}),
  });
  const plainSubject = bus.naming.plainSubject(failed.wireSubject);
  const occurrence = `${failed.stream}:${failed.streamSeq}`;
  const copy = await bus.publishRaw(dlqSubjectFor(plainSubject), failed.data, `dlq:${occurrence}`, headers, {
    linkedTo: [failed.headers],
  });

  // An ops.error that cannot be delivered must not announce its own dead letter, and so on forever.
  if (plainSubject !== Subjects.opsError) {
    const batch = batchNamedBy(failed.data);
    const deliveries = `${failed.deliveryCount} deliver${failed.deliveryCount === 1 ? 'y' : 'ies'}`;
    await bus.publish(
      Subjects.opsError,
      {
        occurrenceId: `dead_lettered:${occurrence}`,
        kind: 'dead_lettered',
        severity: 'high',
        service: failed.consumer,
        message: `${plainSubject} message ${occurrence} was dead-lettered after ${deliveries}`,
        provider: batch.provider,
        batchLogId: batch.batchLogId,
        providerBatchId: batch.providerBatchId,
        detail: failed.error,
        since: null,
        nextStep: `Fix the cause, then: batchline dlq show ${copy.seq} and batchline dlq redrive ${copy.seq}`,
        occurredAt: new Date().toISOString(),
      },
      { msgId: `dead_lettered:${occurrence}` },
    );
  }
  return copy.seq;
}

/** Reads a DLQ stream message back into a dead letter. */
export function deadLetterOf(message: RecordedMessage, naming: BusNaming): DeadLetter {
  const header = (name: string) => message.headers[name];
  const wireSubject = header(DlqHeaders.subject) ?? naming.subject(message.subject.replace(/^dlq\./, ''));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (!isJetStreamHeader(name) && !DLQ_HEADER_NAMES.has(name)) headers[name] = value;
  }
  return {
    dlqSeq: message.seq,
    recordedAt: message.time,
    subject: naming.plainSubject(wireSubject),
    wireSubject,
    stream: header(DlqHeaders.stream) ?? '',
    streamSeq: Number(header(DlqHeaders.seq) ?? 0),
    consumer: header(DlqHeaders.consumer) ?? '',
    deliveryCount: Number(header(DlqHeaders.deliveryCount) ?? 0),
    error: header(DlqHeaders.error) ?? '',
    via: header(DlqHeaders.via) === 'max_deliveries' ? 'max_deliveries' : 'runner',
    originalMsgId: header(DlqHeaders.msgId) ?? null,
    headers,
    data: message.data,
  };
}

/** The msg id of a redrive: new (JetStream would drop the original id as a duplicate), one per dead letter. */
const redriveMsgId = (naming: BusNaming, dlqSeq: number): string =>
  `redrive:${naming.stream(DLQ_STREAM)}:${dlqSeq}`;

const DLQ_STREAM: StreamName = 'DLQ';

/** Header of a redriven message: the DLQ sequence of the dead letter it re-sends. */
export const REDRIVE_OF_HEADER = 'Batchline-Redrive-Of';

/**
 * Publishes a dead letter again to the subject it failed on, under a new msg id (one per dead letter, so running
 * the same redrive twice within the de-duplication window sends it once), then removes it from the DLQ. Its
 * trace links to the original's. Should it fail again, it is dead-lettered again, as a new entry.
 */
export async function redriveDeadLetter(
  bus: Pick<Bus, 'naming' | 'publishRaw' | 'deleteRecorded'>,
  letter: DeadLetter,
): Promise<PublishResult> {
  const headers = { ...copiedHeaders(letter.headers), [REDRIVE_OF_HEADER]: String(letter.dlqSeq) };
  const published = await bus.publishRaw(
    letter.subject,
    letter.data,
    redriveMsgId(bus.naming, letter.dlqSeq),
    headers,
    { linkedTo: [letter.headers] },
  );
  await bus.deleteRecorded(DLQ_STREAM, letter.dlqSeq);
  return published;
}

/** `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES` payload (the fields we use). */
export const MaxDeliveriesAdvisory = z.object({
  type: z.literal('io.nats.jetstream.advisory.v1.max_deliver'),
  stream: z.string().min(1),
  consumer: z.string().min(1),
  stream_seq: z.number().int().positive(),
  deliveries: z.number().int().nonnegative(),
});
export type MaxDeliveriesAdvisory = z.infer<typeof MaxDeliveriesAdvisory>;

/** The wire subject a consumer of a stream (name on the server) reads, when it is one of ours. */
export function subjectOfConsumer(naming: BusNaming, stream: string, consumer: string): string | undefined {
  const spec = Object.entries(Consumers).find(
    ([name, c]) => name === consumer && naming.stream(c.stream) === stream,
  )?.[1];
  return spec ? naming.subject(spec.subject) : undefined;
}
