import { randomBytes } from 'node:crypto';
import type { Bus, PublishResult } from './bus.ts';
import type { RecordedMessage, StreamSelection } from './recorded.ts';
import { Consumers, type StreamName, Streams } from './topology.ts';

/**
 * Replay: recorded events are published again, to the subject they were recorded on, under NEW msg ids — the
 * stream's de-duplication window would drop a republish with the original id (docs/fault-injection.md, what batchline assumes of NATS) — so the
 * durable consumers process them once more. Every handler is idempotent, so nothing doubles.
 */

export const ReplayHeaders = {
  /** `<STREAM>:<seq>` of the message a copy re-sends. */
  of: 'Batchline-Replay-Of',
  /** The replay run that sent it. */
  run: 'Batchline-Replay-Run',
} as const;

/** Streams whose events are handled by a service (not the DLQ or the advisory store), in pipeline order. */
export function replayableStreams(): StreamName[] {
  const consumed = new Set<StreamName>(Object.values(Consumers).map((c) => c.stream));
  return (Object.keys(Streams) as StreamName[]).filter((stream) => consumed.has(stream));
}

/** Streams the notifier reads: what `--no-notify` leaves out. */
export function notificationStreams(): StreamName[] {
  return [
    ...new Set(
      Object.entries(Consumers)
        .filter(([name]) => name.startsWith('notifier'))
        .map(([, c]) => c.stream as StreamName),
    ),
  ];
}

export interface ReplaySelection extends StreamSelection {
  stream: StreamName;
  /** Only events about this provider batch (their body's `providerBatchId`). */
  providerBatchId?: string;
}

const namesBatch = (message: RecordedMessage, providerBatchId: string): boolean => {
  try {
    return JSON.parse(new TextDecoder().decode(message.data))?.providerBatchId === providerBatchId;
  } catch {
    return false;
  }
};

/**
 * The recorded events a replay would re-send, oldest first. Copies sent by earlier replays are left out: they
 * are the same events again.
 */
export async function* selectForReplay(
  bus: Bus,
  selection: ReplaySelection,
): AsyncGenerator<RecordedMessage> {
  const { stream, providerBatchId, ...range } = selection;
  for await (const message of bus.readStream(stream, range)) {
    if (message.headers[ReplayHeaders.of]) continue;
    if (providerBatchId && !namesBatch(message, providerBatchId)) continue;
    yield message;
  }
}

/** A short id naming one replay run (in msg ids and headers). */
export const newReplayRunId = (): string => randomBytes(4).toString('hex');

const replayMsgId = (runId: string, message: RecordedMessage): string =>
  `replay:${runId}:${message.stream}:${message.seq}`;

/** Headers a copy carries: the original's own ones, minus JetStream's and the trace context (linked instead). */
export function copiedHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith('nats-') && lower !== 'traceparent' && lower !== 'tracestate') out[name] = value;
  }
  return out;
}

/** Publishes one recorded event again under a new msg id; its trace links to the original's. */
export function replayMessage(bus: Bus, runId: string, message: RecordedMessage): Promise<PublishResult> {
  const headers = {
    ...copiedHeaders(message.headers),
    [ReplayHeaders.of]: `${message.stream}:${message.seq}`,
    [ReplayHeaders.run]: runId,
  };
  return bus.publishRaw(message.subject, message.data, replayMsgId(runId, message), headers, {
    linkedTo: [message.headers],
  });
}
