import {
  type EncodedResultsChunk,
  encodeRawAnswer,
  encodeResultsChunk,
  type ResultsParsedEvent,
  type ResultsSummary,
} from '@batchline/events';

export interface ChunkWriterOptions {
  batch: Pick<ResultsParsedEvent, 'batchLogId' | 'provider' | 'providerBatchId' | 'jobType'>;
  /** Most records in one chunk. */
  maxRecords: number;
  /**
   * Most encoded record and raw answer bytes in one chunk: keeps every message far below the server's max
   * payload.
   */
  maxBytes: number;
  /** Whether chunks carry raw answers (`rawAnswers`, for a job type declaring `keepRawAnswers`). */
  keepRawAnswers: boolean;
  /** Most chunk publishes awaiting their PubAck at once (back-pressure instead of unbounded buffering). */
  window: number;
  publish(chunk: EncodedResultsChunk): Promise<void>;
}

/**
 * Groups validated records into numbered chunks and publishes them with a bounded window of unacknowledged
 * publishes. Each record is encoded once, as it is added: its wire bytes decide the chunk boundaries and become
 * the chunk's body. Boundaries depend only on the records and the limits, so a re-fetch of the same files yields
 * the same chunks (and the same de-duplication ids).
 */
export class ChunkWriter {
  private records: string[] = [];
  /** The chunk's raw answers (from `encodeRawAnswer`), null when the job type keeps none. */
  private rawAnswers: string[] | null;
  private bytes = 0;
  private nextSeq = 0;
  private readonly inFlight: Promise<void>[] = [];
  recordCount = 0;
  /**
   * Raw answers not kept for being over half a chunk's bytes: a line travels beside its record in one chunk, which
   * must stay under the server's max payload.
   */
  rawAnswersTooLong = 0;
  /** Time spent waiting for a free slot of the publish window. */
  waitedMs = 0;

  constructor(private readonly options: ChunkWriterOptions) {
    this.rawAnswers = options.keepRawAnswers ? [] : null;
  }

  /** Publishes the remaining records as the last chunk, with the summary, and waits for every PubAck. */
  async finish(summary: ResultsSummary): Promise<number> {
    const chunkCount = this.nextSeq + 1;
    await this.send({ last: true, chunkCount, summary });
    await Promise.all(this.inFlight.splice(0));
    return chunkCount;
  }

  /**
   * Adds a record encoded by `encodeResultRecord`, with the result line it came from when it has one and the
   * chunks carry raw answers; returns a promise only when a full chunk had to wait for a free slot of the publish
   * window (awaiting nothing per record keeps the per-line cost down).
   */
  addEncoded(encoded: string, answer?: { customId: string; line: string }): Promise<void> | undefined {
    return this.add(encoded, this.rawAnswerOf(answer));
  }

  private rawAnswerOf(answer: { customId: string; line: string } | undefined): string | undefined {
    if (this.rawAnswers === null || answer === undefined) return;
    const encoded = encodeRawAnswer(answer.customId, answer.line);
    if (Buffer.byteLength(encoded) <= this.options.maxBytes / 2) return encoded;
    this.rawAnswersTooLong += 1;
  }

  private add(encoded: string, rawAnswer: string | undefined): Promise<void> | undefined {
    // UTF-8 bytes, as they travel: a record of non-ASCII text is up to three times its string length.
    const kept = rawAnswer !== undefined;
    const size = Buffer.byteLength(encoded) + 1 + (kept ? Buffer.byteLength(rawAnswer) + 1 : 0);
    if (this.records.length > 0 && this.bytes + size > this.options.maxBytes) {
      const waiting = this.flush();
      if (waiting) return waiting.then(() => this.add(encoded, rawAnswer));
    }
    this.records.push(encoded);
    if (kept) this.rawAnswers!.push(rawAnswer);
    this.bytes += size;
    this.recordCount += 1;
    if (this.records.length >= this.options.maxRecords) return this.flush();
  }

  private flush(): Promise<void> | undefined {
    return this.send({ last: false, chunkCount: null, summary: null });
  }

  private send(tail: Pick<ResultsParsedEvent, 'last' | 'chunkCount' | 'summary'>): Promise<void> | undefined {
    const chunk = encodeResultsChunk(
      { ...this.options.batch, chunkSeq: this.nextSeq, ...tail },
      this.records,
      this.rawAnswers,
    );
    this.nextSeq += 1;
    this.records = [];
    if (this.rawAnswers !== null) this.rawAnswers = [];
    this.bytes = 0;
    const published = this.options.publish(chunk);
    // Awaited below or in finish(); this only keeps a rejection from being reported as unhandled meanwhile.
    published.catch(() => undefined);
    this.inFlight.push(published);
    if (this.inFlight.length >= this.options.window) return this.timed(this.inFlight.shift()!);
  }

  private async timed(waiting: Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await waiting;
    } finally {
      this.waitedMs += performance.now() - started;
    }
  }
}
