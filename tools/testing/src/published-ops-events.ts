import type { OpsErrorEvent } from '@batchline/events';

/** What reading the OPS stream needs of a bus (`Bus.readStream`). */
interface OpsStreamReader {
  readStream(stream: 'OPS', selection: { subject: string }): AsyncIterable<{ data: Uint8Array }>;
}

/** Every `ops.error` event JetStream kept (each occurrence once, as the notifier would read them), oldest first. */
export async function publishedOpsEvents(bus: OpsStreamReader): Promise<OpsErrorEvent[]> {
  const events: OpsErrorEvent[] = [];
  for await (const message of bus.readStream('OPS', { subject: 'ops.error' })) {
    events.push(JSON.parse(new TextDecoder().decode(message.data)) as OpsErrorEvent);
  }
  return events;
}
