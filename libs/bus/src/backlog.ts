import type { JetStreamManager } from '@nats-io/jetstream';
import type { BusNaming } from './naming.ts';
import {
  type ConsumerName,
  Consumers,
  DLQ_RECORDER,
  DLQ_RECORDER_STREAM,
  type StreamName,
} from './topology.ts';

/** How far one durable consumer is behind. */
export interface ConsumerBacklog {
  stream: StreamName;
  consumer: ConsumerName | typeof DLQ_RECORDER;
  /** Messages stored and not yet delivered to it. */
  pending: number;
  /** Messages delivered and not yet acknowledged. */
  ackPending: number;
}

/** What the bus holds that is not done: each consumer's backlog, and the dead letters kept in the DLQ stream. */
export interface BusBacklog {
  consumers: ConsumerBacklog[];
  deadLetters: number;
}

/**
 * Reads the backlog from the server (consumer and stream info). A consumer or stream that does not exist (yet) is
 * left out rather than failing the whole reading.
 */
export async function readBacklog(jsm: JetStreamManager, naming: BusNaming): Promise<BusBacklog> {
  const durable: [ConsumerBacklog['consumer'], StreamName][] = [
    ...(Object.keys(Consumers) as ConsumerName[]).map((name): [ConsumerName, StreamName] => [
      name,
      Consumers[name].stream,
    ]),
    [DLQ_RECORDER, DLQ_RECORDER_STREAM],
  ];
  const consumers = await Promise.all(
    durable.map(async ([consumer, stream]): Promise<ConsumerBacklog | null> => {
      const info = await jsm.consumers.info(naming.stream(stream), consumer).catch(() => null);
      return info && { stream, consumer, pending: info.num_pending, ackPending: info.num_ack_pending };
    }),
  );
  const dlq = await jsm.streams.info(naming.stream('DLQ')).catch(() => null);
  return {
    consumers: consumers.filter((entry): entry is ConsumerBacklog => entry !== null),
    deadLetters: dlq?.state.messages ?? 0,
  };
}
