import type { JetStreamManager } from '@nats-io/jetstream';
import type { BusNaming } from './naming.ts';
import { type ConsumerName, Consumers } from './topology.ts';

/** How far behind the durable consumers are, and how many dead letters the DLQ holds. */
export interface QueueBacklog {
  /** Messages each existing consumer has not yet had acknowledged (pending plus delivered and unacked). */
  consumers: Partial<Record<ConsumerName, number>>;
  deadLetters: number;
}

const isNotFound = (error: unknown) => error instanceof Error && /not found/i.test(error.message);

/** Reads the backlog from the server; a consumer not created yet is left out, any other failure throws. */
export async function queueBacklog(jsm: JetStreamManager, naming: BusNaming): Promise<QueueBacklog> {
  const consumers: QueueBacklog['consumers'] = {};
  for (const [name, { stream }] of Object.entries(Consumers) as [ConsumerName, { stream: string }][]) {
    try {
      const info = await jsm.consumers.info(naming.stream(stream), name);
      consumers[name] = info.num_pending + info.num_ack_pending;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const dlq = await jsm.streams.info(naming.stream('DLQ'));
  return { consumers, deadLetters: dlq.state.messages };
}
