import type { ResultsParsedEvent, ResultsSummary } from '@batchline/bus';
import type { ResultRecord } from '@batchline/domain';

export interface ChunkWriterOptions {
  batch: Pick<ResultsParsedEvent, 'batchLogId' | 'provider' | 'providerBatchId'>;
  /** Most records in one chunk. */
  maxRecords: number;
  /** Most serialized record bytes in one chunk: keeps every message far below the server's max payload. */
  maxBytes: number;
  /** Most chunk publishes awaiting their PubAck at once (back-pressure instead of unbounded buffering). */
  window: number;
  publish(chunk: ResultsParsedEvent): Promise<void>;
}

/**
 * Groups validated records into numbered chunks and publishes them with a bounded window of unacknowledged
 * publishes. Boundaries depend only on the records and the limits, so a re-fetch of the same files yields the same
 * chunks (and the same de-duplication ids).
 */
export class ChunkWriter {
  private records: ResultRecord[] = [];
  private bytes = 0;
  private nextSeq = 0;
  private readonly inFlight: Promise<void>[] = [];
  recordCount = 0;

  constructor(private readonly options: ChunkWriterOptions) {}

  async add(record: ResultRecord): Promise<void> {
    const size = JSON.stringify(record).length + 1;
    if (this.records.length > 0 && this.bytes + size > this.options.maxBytes) await this.flush();
    this.records.push(record);
    this.bytes += size;
    this.recordCount += 1;
    if (this.records.length >= this.options.maxRecords) await this.flush();
  }

  /** Publishes the remaining records as the last chunk, with the summary, and waits for every PubAck. */
  async finish(summary: ResultsSummary): Promise<number> {
    const chunkCount = this.nextSeq + 1;
    await this.send({ last: true, chunkCount, summary });
    await Promise.all(this.inFlight.splice(0));
    return chunkCount;
  }

  private async flush(): Promise<void> {
    await this.send({ last: false, chunkCount: null, summary: null });
  }

  private async send(tail: Pick<ResultsParsedEvent, 'last' | 'chunkCount' | 'summary'>): Promise<void> {
    const chunk: ResultsParsedEvent = {
      ...this.options.batch,
      chunkSeq: this.nextSeq,
      records: this.records,
      ...tail,
    };
    this.nextSeq += 1;
    this.records = [];
    this.bytes = 0;
    const published = this.options.publish(chunk);
    // Awaited below or in finish(); this only keeps a rejection from being reported as unhandled meanwhile.
    published.catch(() => undefined);
    this.inFlight.push(published);
    if (this.inFlight.length >= this.options.window) await this.inFlight.shift();
  }
}
