import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchStatus,
  failedRecord,
  type LineContext,
  LineSplitter,
  MAX_ERROR_MESSAGE_LENGTH,
  type ParsedLine,
  parseOpenAIResultLine,
  ResultErrorCode,
  type SplitLine,
} from '@batchline/domain';
import {
  type EncodedResultsChunk,
  encodeResultRecord,
  type InvalidLines,
  type ResultsSummary,
  type StatusChangedEvent,
} from '@batchline/events';
import type { JobType } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import { ChunkWriter } from './chunk-writer.ts';
import { RequestIdCollector } from './request-ids.ts';

/** The part of a provider the fetcher needs: file contents as byte streams, and how to read its lines. */
export interface ResultFileSource {
  openFile(fileId: string): Promise<Readable>;
  /** Parses one line of the provider's result files (a `BatchProvider` has it); OpenAI's format when absent. */
  parseResultLine?(raw: string, ctx: LineContext): ParsedLine;
  /** False for a provider that keeps no input file (Anthropic, whose results have a line for every request). */
  hasInputFiles?: boolean;
}

export interface FetchOptions {
  files: ResultFileSource;
  /**
   * The custom_ids of the batch's requests when they were recorded at submission, or null: then the input file
   * is read to learn them.
   */
  recordedRequests(batchLogId: number): Promise<Set<string> | null>;
  /** The batch's job type: it checks every answer and fixes the shape of the records. */
  jobType: JobType;
  /** Whether a value is a key of the job type's catalogue (loaded once per fetch). */
  isCatalogueKey(key: string): boolean;
  publish(chunk: EncodedResultsChunk): Promise<void>;
  /** A file the provider no longer has: the batch ends without it instead of retrying for ever. */
  isGone(error: unknown): boolean;
  /** A download that broke or stalled, worth reopening at once. */
  isTransient(error: unknown): boolean;
  maxRecords: number;
  maxBytes: number;
  window: number;
  /** Reopenings of one file after a transient break, within this fetch (then the message is retried later). */
  downloadRetries: number;
  /** Pause before the n-th reopening: `retryDelayMs * 2^(n-1)`. */
  retryDelayMs: number;
  /**
   * Most bytes of encoded records held while the input file is still being read; past them the result download
   * waits for it (bounded memory).
   */
  maxHeldBytes: number;
  log: Logger;
}

export interface FetchOutcome {
  chunkCount: number;
  records: number;
  summary: ResultsSummary;
  /** Where the time went: reading the input file, the whole fetch, and waiting for PubAcks (back-pressure). */
  timings: { inputMs: number; totalMs: number; publishWaitMs: number };
}

const INVALID_LINE_SAMPLES = 20;
/**
 * The summary rides in the last chunk beside up to `maxBytes` of records: the provider's error list (one entry
 * per bad input line, for a batch that failed validation) is cut so that the message stays under the server's
 * max payload.
 */
const MAX_PROVIDER_ERRORS = 100;
/** A line longer than this cannot be a result we accept; it is reported by size instead of being buffered. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Reads a terminal batch's output and error files as streams, validates every line (docs/interface.md §4) and publishes
 * the outcomes as `batch.results.parsed` chunks. The requests recorded at submission, or else the input file,
 * tell which requests exist, so that a request without any line becomes `missing_result` and a line of no request
 * is not landed; the first line seen for a `custom_id` wins.
 */
export async function fetchResults(options: FetchOptions, event: StatusChangedEvent): Promise<FetchOutcome> {
  const started = performance.now();
  const { jobType, isCatalogueKey } = options;
  const rowWidth = jobType.target.valueColumns.length;
  const finalStatus = event.reason === 'completed' ? BatchStatus.completed : BatchStatus.failed;
  const writer = new ChunkWriter({
    batch: {
      batchLogId: event.batchLogId,
      provider: event.provider,
      providerBatchId: event.providerBatchId,
      jobType: jobType.name,
    },
    maxRecords: options.maxRecords,
    maxBytes: options.maxBytes,
    keepRawAnswers: jobType.declaration.keepRawAnswers,
    window: options.window,
    publish: options.publish,
  });
  const files = new ResultFiles(options, event.batchLogId);

  // Which requests exist: recorded at submission (at once), or read from the input file while the result lines
  // are parsed. Records parsed before they are known wait in `held`, encoded and in order, and are written as
  // soon as they are known — so chunk boundaries do not depend on timing; past `maxHeldBytes` the result
  // download waits.
  const seen = new Set<string>();
  const invalidLines: InvalidLines = { count: 0, samples: [] };
  const linesRead = { output: 0, error: 0 };
  let duplicateLines = 0;
  let unexpectedLines = 0;
  let downloadError: string | null = null;

  let expected: ExpectedRequests | null = null;
  let inputMs = 0;
  /** Each with its result line when the job type keeps raw answers. */
  const held: { customId: string; encoded: string; line: string | undefined }[] = [];
  let heldBytes = 0;
  /** Set once every held record is written: from then on records go straight to the writer. */
  let drained = false;

  /** Lands a record of a request of the batch; returns a promise only when the publish window is full. */
  const land = (customId: string, encoded: string, line: string | undefined): Promise<void> | undefined => {
    if (expected!.ids !== null && !expected!.ids.has(customId)) {
      unexpectedLines += 1;
      return;
    }
    return writer.addEncoded(encoded, line === undefined ? undefined : { customId, line });
  };
  /** Writes the held records in order, including those held meanwhile, then lets records through. */
  const drain = async (): Promise<void> => {
    for (let next = 0; next < held.length; next += 1) {
      const { customId, encoded, line } = held[next]!;
      const waiting = land(customId, encoded, line);
      if (waiting) await waiting;
    }
    held.length = 0;
    heldBytes = 0;
    drained = true;
  };
  const readingInput = expectedRequests(options, files, event).then(
    (requests) => {
      expected = requests;
      inputMs = performance.now() - started;
    },
    (error: unknown) => {
      throw new InputFileFailure(error);
    },
  );
  const drainedHeld = readingInput.then(drain);
  drainedHeld.catch(() => undefined);

  /**
   * Takes a parsed line and its text; returns a promise only when the download has to wait (publish window, held
   * bytes).
   */
  const admit = (parsed: ParsedLine, line?: string): Promise<void> | undefined => {
    if (parsed.kind === 'blank') return;
    if (parsed.kind === 'invalid_line') {
      invalidLines.count += 1;
      if (invalidLines.samples.length < INVALID_LINE_SAMPLES) {
        invalidLines.samples.push({ file: parsed.file, line: parsed.line, error: parsed.error });
      }
      return;
    }
    const { customId } = parsed.record;
    if (seen.has(customId)) {
      duplicateLines += 1;
      return;
    }
    seen.add(customId);
    const encoded = encodeResultRecord(parsed.record, rowWidth);
    const kept = jobType.declaration.keepRawAnswers ? line : undefined;
    if (drained) return land(customId, encoded, kept);
    held.push({ customId, encoded, line: kept });
    heldBytes += encoded.length + (kept?.length ?? 0);
    if (heldBytes >= options.maxHeldBytes) return drainedHeld;
  };

  const parseResultLine = options.files.parseResultLine ?? parseOpenAIResultLine;
  const resultFiles: ['output' | 'error', string | null][] = [
    ['output', event.outputFileId],
    ['error', event.errorFileId],
  ];
  for (const [kind, fileId] of resultFiles) {
    if (!fileId) continue;
    try {
      linesRead[kind] = await files.readLines(fileId, (line) =>
        admit(
          line.text === null
            ? {
                kind: 'invalid_line',
                file: kind,
                line: line.line,
                error: `line is ${line.bytes} bytes, over the ${MAX_LINE_BYTES}-byte limit`,
              }
            : parseResultLine(line.text, { file: kind, line: line.line, jobType, isCatalogueKey }),
          line.text ?? undefined,
        ),
      );
    } catch (error) {
      if (error instanceof InputFileFailure) throw error.cause;
      if (!options.isGone(error)) throw error;
      downloadError = `${kind} file ${fileId} is no longer available`;
      options.log.error({ batchLogId: event.batchLogId, fileId, err: error }, 'result file is gone');
    }
  }

  await drainedHeld.catch((error: unknown) => {
    throw error instanceof InputFileFailure ? error.cause : error;
  });
  // Known by now: drainedHeld follows readingInput (TypeScript cannot see the closure's assignment).
  const requests = expected as unknown as ExpectedRequests;
  let missingResults = 0;
  if (requests.ids !== null) {
    for (const customId of requests.ids) {
      if (seen.has(customId)) continue;
      missingResults += 1;
      const missing = failedRecord(
        customId,
        jobType.parseCustomId(customId),
        ResultErrorCode.missingResult,
        'no line for this request in the output or error file',
      );
      const waiting = writer.addEncoded(encodeResultRecord(missing, rowWidth));
      if (waiting) await waiting;
    }
  }

  const summary: ResultsSummary = {
    finalStatus: downloadError === null ? finalStatus : BatchStatus.failed,
    reason: downloadError === null ? (event.reason ?? 'failed') : 'results_unavailable',
    providerStatus: event.providerStatus,
    providerErrors: event.providerErrors.slice(0, MAX_PROVIDER_ERRORS).map((error) => ({
      ...error,
      message: error.message?.slice(0, MAX_ERROR_MESSAGE_LENGTH) ?? null,
    })),
    linesRead,
    invalidLines,
    duplicateLines,
    unexpectedLines,
    missingResults,
    inputUnavailable: requests.unavailable,
    downloadError,
    download: { bytes: files.downloadedBytes },
    ...(jobType.declaration.keepRawAnswers ? { rawAnswersTooLong: writer.rawAnswersTooLong } : {}),
  };
  const chunkCount = await writer.finish(summary);
  return {
    chunkCount,
    records: writer.recordCount,
    summary,
    timings: {
      inputMs: Math.round(inputMs),
      totalMs: Math.round(performance.now() - started),
      publishWaitMs: Math.round(writer.waitedMs),
    },
  };
}

/** The requests of the batch (null when unknown) and why they are unknown. */
interface ExpectedRequests {
  ids: Set<string> | null;
  unavailable: string | null;
}

/**
 * The batch's requests could not be learned (the database or the input file failed). Wrapped while it travels
 * through the result-line handlers, so that the result download is not retried for it; unwrapped before it leaves
 * `fetchResults`.
 */
class InputFileFailure extends Error {
  constructor(cause: unknown) {
    super("learning the batch's requests failed", { cause });
  }
}

/** The batch's requests: as recorded at submission, else from its input file. */
async function expectedRequests(
  options: FetchOptions,
  files: ResultFiles,
  event: StatusChangedEvent,
): Promise<ExpectedRequests> {
  const recorded = await options.recordedRequests(event.batchLogId);
  if (recorded !== null) return { ids: recorded, unavailable: null };
  if (!event.inputFileId) {
    // Without an input file the requests are known from the results alone: fine where every request has a line.
    return { ids: null, unavailable: files.hasInputFiles ? 'the provider reported no input file' : null };
  }
  const collector = new RequestIdCollector(MAX_LINE_BYTES);
  try {
    // Read again from the start after a break: adding an id twice to the set is harmless.
    await files.read(event.inputFileId, async (stream) => {
      collector.restart();
      for await (const chunk of stream) collector.push(chunk as Buffer);
      collector.end();
    });
  } catch (error) {
    if (!files.isGone(error)) throw error;
    return { ids: null, unavailable: `input file ${event.inputFileId} is no longer available` };
  }
  return { ids: collector.ids, unavailable: null };
}

/**
 * Opens provider files, reopening a download that breaks midway a few times (with a pause) before giving up. A
 * reopened file is read again from its start; `readLines` skips the lines already handled: the file does not
 * change, so its lines and the chunks made of them come out the same, and nothing is handled twice.
 */
class ResultFiles {
  /** Bytes of the result lines handled so far, newlines included (a line read again after a break counts once). */
  downloadedBytes = 0;

  constructor(
    private readonly options: FetchOptions,
    private readonly batchLogId: number,
  ) {}

  isGone(error: unknown): boolean {
    return this.options.isGone(error);
  }

  get hasInputFiles(): boolean {
    return this.options.files.hasInputFiles ?? true;
  }

  /** Runs `consume` on the file's stream, again on a new one after a break. */
  async read(
    fileId: string,
    consume: (stream: Readable) => Promise<void>,
    progress: () => object = () => ({}),
  ): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      let stream: Readable | undefined;
      try {
        stream = await this.options.files.openFile(fileId);
        await consume(stream);
        return;
      } catch (error) {
        stream?.destroy();
        if (!this.options.isTransient(error) || attempt >= this.options.downloadRetries) throw error;
        const delayMs = this.options.retryDelayMs * 2 ** attempt;
        this.options.log.warn(
          { batchLogId: this.batchLogId, fileId, ...progress(), retryInMs: delayMs, err: error },
          'download broke; reading the file again',
        );
        await sleep(delayMs);
      }
    }
  }

  /** Calls `onLine` for every line once, awaiting it when it returns a promise (back-pressure on the download). */
  async readLines(fileId: string, onLine: (line: SplitLine) => Promise<void> | undefined): Promise<number> {
    let handled = 0;
    await this.read(
      fileId,
      (stream) =>
        forEachLine(stream, (line) => {
          if (line.line <= handled) return;
          handled = line.line;
          this.downloadedBytes += line.bytes + 1;
          return onLine(line);
        }),
      () => ({ linesHandled: handled }),
    );
    return handled;
  }
}

/** Splits a byte stream into lines; a handler's promise is awaited before more bytes are read. */
async function forEachLine(
  stream: Readable,
  onLine: (line: SplitLine) => Promise<void> | undefined,
): Promise<void> {
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  const lines: SplitLine[] = [];
  const collect = (line: SplitLine) => lines.push(line);
  const handleCollected = async () => {
    for (const line of lines) {
      const waiting = onLine(line);
      if (waiting) await waiting;
    }
    lines.length = 0;
  };
  for await (const chunk of stream) {
    splitter.push(chunk as Buffer, collect);
    await handleCollected();
  }
  splitter.end(collect);
  await handleCollected();
}
