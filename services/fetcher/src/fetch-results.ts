import type { Readable } from 'node:stream';
import type { InvalidLines, ResultsParsedEvent, ResultsSummary, StatusChangedEvent } from '@batchline/bus';
import {
  BatchStatus,
  failedRecord,
  LineSplitter,
  type ParsedLine,
  parseCustomId,
  parseOpenAIResultLine,
  ResultErrorCode,
} from '@batchline/domain';
import type { Logger } from '@batchline/logging';
import { ChunkWriter } from './chunk-writer.ts';

/** The part of a provider the fetcher needs: file contents as byte streams. */
export interface ResultFileSource {
  openFile(fileId: string): Promise<Readable>;
}

export interface FetchOptions {
  files: ResultFileSource;
  isKnownViewpoint(id: number): boolean;
  publish(chunk: ResultsParsedEvent): Promise<void>;
  maxRecords: number;
  maxBytes: number;
  window: number;
  log: Logger;
}

const INVALID_LINE_SAMPLES = 20;
/** A line longer than this cannot be a result we accept; it is reported by size instead of being buffered. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** Thrown when a file cannot be read for a reason that retrying will not change (it is gone). */
export class ResultsUnavailableError extends Error {
  readonly code = 'RESULTS_UNAVAILABLE';
}

/**
 * Reads a terminal batch's input, output and error files as streams, validates every line (contract §4) and
 * publishes the outcomes as `batch.results.parsed` chunks. The input file tells which requests exist, so that a
 * request without any line becomes `missing_result`; the first line seen for a `custom_id` wins.
 */
export async function fetchResults(
  options: FetchOptions,
  event: StatusChangedEvent,
  isGone: (error: unknown) => boolean,
): Promise<{ chunkCount: number; records: number; summary: ResultsSummary }> {
  const finalStatus = event.reason === 'completed' ? BatchStatus.completed : BatchStatus.failed;
  const writer = new ChunkWriter({
    batch: { batchLogId: event.batchLogId, provider: event.provider, providerBatchId: event.providerBatchId },
    maxRecords: options.maxRecords,
    maxBytes: options.maxBytes,
    window: options.window,
    publish: options.publish,
  });

  const expected = await readExpectedCustomIds(options, event, isGone);
  const seen = new Set<string>();
  const invalidLines: InvalidLines = { count: 0, samples: [] };
  const linesRead = { output: 0, error: 0 };
  let duplicateLines = 0;
  let unexpectedLines = 0;
  let downloadError: string | null = null;

  const take = async (parsed: ParsedLine): Promise<void> => {
    if (parsed.kind === 'blank') return;
    if (parsed.kind === 'invalid_line') {
      invalidLines.count += 1;
      if (invalidLines.samples.length < INVALID_LINE_SAMPLES) {
        invalidLines.samples.push({ file: parsed.file, line: parsed.line, error: parsed.error });
      }
      return;
    }
    const { record } = parsed;
    if (seen.has(record.customId)) {
      duplicateLines += 1;
      return;
    }
    seen.add(record.customId);
    if (expected.ids !== null && !expected.ids.has(record.customId)) {
      unexpectedLines += 1;
      return;
    }
    await writer.add(record);
  };

  const files: ['output' | 'error', string | null][] = [
    ['output', event.outputFileId],
    ['error', event.errorFileId],
  ];
  for (const [kind, fileId] of files) {
    if (!fileId) continue;
    try {
      linesRead[kind] = await readLines(options, fileId, kind, take);
    } catch (error) {
      if (!isGone(error)) throw error;
      downloadError = `${kind} file ${fileId} is no longer available`;
      options.log.error({ batchLogId: event.batchLogId, fileId, err: error }, 'result file is gone');
    }
  }

  let missingResults = 0;
  if (expected.ids !== null) {
    for (const customId of expected.ids) {
      if (seen.has(customId)) continue;
      missingResults += 1;
      await writer.add(
        failedRecord(
          customId,
          parseCustomId(customId),
          ResultErrorCode.missingResult,
          'no line for this request in the output or error file',
        ),
      );
    }
  }

  const summary: ResultsSummary = {
    finalStatus: downloadError === null ? finalStatus : BatchStatus.failed,
    reason: downloadError === null ? (event.reason ?? 'failed') : 'results_unavailable',
    providerStatus: event.providerStatus,
    providerErrors: event.providerErrors,
    linesRead,
    invalidLines,
    duplicateLines,
    unexpectedLines,
    missingResults,
    inputUnavailable: expected.unavailable,
    downloadError,
  };
  const chunkCount = await writer.finish(summary);
  return { chunkCount, records: writer.recordCount, summary };
}

async function readExpectedCustomIds(
  options: FetchOptions,
  event: StatusChangedEvent,
  isGone: (error: unknown) => boolean,
): Promise<{ ids: Set<string> | null; unavailable: string | null }> {
  if (!event.inputFileId) return { ids: null, unavailable: 'the provider reported no input file' };
  const ids = new Set<string>();
  try {
    await forEachLine(await options.files.openFile(event.inputFileId), (line) => {
      if (line.text === null || line.text.trim() === '') return;
      try {
        const customId = (JSON.parse(line.text) as { custom_id?: unknown }).custom_id;
        if (typeof customId === 'string' && customId.length > 0) ids.add(customId);
      } catch {
        // The provider validated the input file; an unreadable line there has no result to match anyway.
      }
    });
  } catch (error) {
    if (!isGone(error)) throw error;
    return { ids: null, unavailable: `input file ${event.inputFileId} is no longer available` };
  }
  return { ids, unavailable: null };
}

async function readLines(
  options: FetchOptions,
  fileId: string,
  kind: 'output' | 'error',
  take: (parsed: ParsedLine) => Promise<void>,
): Promise<number> {
  let count = 0;
  await forEachLineAsync(await options.files.openFile(fileId), async (line) => {
    count = line.line;
    const parsed: ParsedLine =
      line.text === null
        ? {
            kind: 'invalid_line',
            file: kind,
            line: line.line,
            error: `line is ${line.bytes} bytes, over the ${MAX_LINE_BYTES}-byte limit`,
          }
        : parseOpenAIResultLine(line.text, {
            file: kind,
            line: line.line,
            isKnownViewpoint: options.isKnownViewpoint,
          });
    await take(parsed);
  });
  return count;
}

type Line = { line: number; text: string | null; bytes: number };

async function forEachLine(stream: Readable, onLine: (line: Line) => void): Promise<void> {
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  for await (const chunk of stream) splitter.push(chunk as Buffer, onLine);
  splitter.end(onLine);
}

/** Like forEachLine, but awaits the handler, so a slow consumer slows the download (back-pressure). */
async function forEachLineAsync(stream: Readable, onLine: (line: Line) => Promise<void>): Promise<void> {
  const splitter = new LineSplitter(MAX_LINE_BYTES);
  const pending: Line[] = [];
  const collect = (line: Line) => pending.push(line);
  for await (const chunk of stream) {
    splitter.push(chunk as Buffer, collect);
    for (const line of pending.splice(0)) await onLine(line);
  }
  splitter.end(collect);
  for (const line of pending.splice(0)) await onLine(line);
}
