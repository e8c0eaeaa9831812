import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import Anthropic, {
  AnthropicError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import { LineSplitter, PROVIDER_BATCH_LIMITS, parseAnthropicResultLine } from '@batchline/domain';
import { guardDownload } from './guarded-download.ts';
import type { BatchProvider, CreateBatchInput, ProviderBatch } from './provider.ts';
import {
  describeError,
  kindForHttpStatus,
  ProviderError,
  retryAfterMsFromHeaders,
} from './provider-error.ts';
import {
  DEFAULT_DOWNLOAD_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_UPLOAD_TIMEOUT_MS,
  sdkClient,
} from './sdk-client.ts';

export interface AnthropicProviderOptions {
  /** Defaults to `ANTHROPIC_API_KEY`, as the SDK reads it. */
  apiKey?: string;
  /** Defaults to `ANTHROPIC_BASE_URL`, else the SDK's (api.anthropic.com). */
  baseURL?: string;
  /** Per API call (status checks, cancel); the SDK's 10-minute default is far too long. */
  timeoutMs?: number;
  /** For the results stream: the longest wait for the response head and, after it, for each next byte. */
  downloadTimeoutMs?: number;
  /** For creating a batch, whose requests travel inline (up to 256 MB). */
  uploadTimeoutMs?: number;
  /** SDK retries; 0 by default because the poller schedules its own from `retryAfterMs`. */
  maxRetries?: number;
}

/** A request line of the input file is one request; none is anywhere near this. */
const MAX_REQUEST_LINE_BYTES = 32 * 1024 * 1024;

type MessageBatch = Anthropic.Messages.Batches.MessageBatch;
type BatchRequest = Anthropic.Messages.Batches.BatchCreateParams.Request;

/**
 * Anthropic Message Batches as a `BatchProvider`, through the official SDK. Requests travel inline when the batch
 * is created (there is no input file); the results stream is exposed as the batch's output "file", whose id is
 * the batch id.
 */
export function createAnthropicProvider(options: AnthropicProviderOptions = {}): BatchProvider {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const downloadTimeoutMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const uploadTimeoutMs = options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
  const { client, call, classify } = sdkClient(
    'Anthropic',
    () =>
      new Anthropic({
        apiKey: options.apiKey,
        baseURL: options.baseURL,
        timeout: timeoutMs,
        maxRetries: options.maxRetries ?? 0,
      }),
    classifyAnthropicError,
  );

  return {
    name: 'anthropic',
    limits: PROVIDER_BATCH_LIMITS.anthropic,
    hasInputFiles: false,
    parseResultLine: parseAnthropicResultLine,

    async uploadAndCreateBatch(input: CreateBatchInput): Promise<ProviderBatch> {
      await stat(input.inputPath);
      const requests = await readRequests(input.inputPath);
      const batch = await call('createBatch', () =>
        client.messages.batches.create({ requests }, { timeout: uploadTimeoutMs }),
      );
      return normalizeAnthropicBatch(batch);
    },

    async getBatch(id) {
      return normalizeAnthropicBatch(await call('getBatch', () => client.messages.batches.retrieve(id)));
    },

    async cancelBatch(id) {
      return normalizeAnthropicBatch(await call('cancelBatch', () => client.messages.batches.cancel(id)));
    },

    async deleteFile(batchId) {
      await call('deleteFile', () => client.messages.batches.delete(batchId));
    },

    async listBatches({ after, limit } = {}) {
      const page = await call('listBatches', () => client.messages.batches.list({ after_id: after, limit }));
      const batches = page.data.map(normalizeAnthropicBatch);
      return { batches, hasMore: page.has_more, lastId: page.last_id ?? batches.at(-1)?.id ?? null };
    },

    async openFile(batchId) {
      const batch = await call('openFile', () => client.messages.batches.retrieve(batchId));
      if (!batch.results_url) {
        throw new ProviderError({
          kind: 'not_found',
          operation: 'openFile',
          message: `openFile failed: batch ${batchId} has no results (status ${batch.processing_status})`,
        });
      }
      const resultsUrl = batch.results_url;
      const controller = new AbortController();
      // The SDK's own `results()` parses lines as it goes; the raw body is wanted here, so that every line is
      // validated (and a bad one reported) by the same code as OpenAI's.
      const response = await call('openFile', () =>
        client
          .get(resultsUrl, {
            headers: { Accept: 'application/binary' },
            timeout: downloadTimeoutMs,
            signal: controller.signal,
            stream: true,
            __binaryResponse: true,
          })
          .asResponse(),
      );
      if (!response.body) return Readable.from([]);
      const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
      return guardDownload(body, {
        stallTimeoutMs: downloadTimeoutMs,
        abort: () => controller.abort(),
        stallError: () =>
          new ProviderError({
            kind: 'timeout',
            operation: 'openFile',
            message: `openFile failed: no data from the results of ${batchId} for ${downloadTimeoutMs} ms`,
          }),
        toError: (err) =>
          err instanceof AnthropicError
            ? classify(err, 'openFile')
            : new ProviderError({
                kind: 'unavailable',
                operation: 'openFile',
                message: `openFile failed: results of ${batchId} interrupted: ${describeError(err, client.apiKey)}`,
              }),
      });
    },
  };
}

/** Reads a JSONL file of `{custom_id, params}` requests (as a job type's `requestLine('anthropic', …)` writes them). */
async function readRequests(path: string): Promise<BatchRequest[]> {
  const requests: BatchRequest[] = [];
  let problem: string | null = null;
  const splitter = new LineSplitter(MAX_REQUEST_LINE_BYTES);
  const onLine = ({ line, text }: { line: number; text: string | null }) => {
    if (problem !== null || text === null || text.trim() === '') {
      if (text === null) problem ??= `line ${line} is too long`;
      return;
    }
    try {
      requests.push(JSON.parse(text) as BatchRequest);
    } catch {
      problem = `line ${line} is not JSON`;
    }
  };
  for await (const chunk of createReadStream(path)) splitter.push(chunk as Buffer, onLine);
  splitter.end(onLine);
  if (problem !== null) {
    throw new ProviderError({
      kind: 'bad_request',
      operation: 'createBatch',
      message: `createBatch failed: request file ${path}: ${problem}`,
    });
  }
  return requests;
}

/** The normalized view of an Anthropic Message Batch. */
export function normalizeAnthropicBatch(batch: MessageBatch): ProviderBatch {
  const counts = batch.request_counts;
  const total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired;
  const ended = batch.processing_status === 'ended' && batch.results_url !== null;
  return {
    provider: 'anthropic',
    id: batch.id,
    status: batch.processing_status,
    inputFileId: null,
    outputFileId: ended ? batch.id : null,
    errorFileId: null,
    requestCounts: {
      total,
      completed: counts.succeeded,
      failed: counts.errored + counts.canceled + counts.expired,
    },
    endedRequestCounts: { canceled: counts.canceled, expired: counts.expired },
    errors: [],
    createdAt: Date.parse(batch.created_at),
    raw: batch,
  };
}

/** Classifies any error of an Anthropic SDK call, once, into a `ProviderError`. */
function classifyAnthropicError(
  err: unknown,
  operation: string,
  apiKey: string | null = null,
): ProviderError {
  if (err instanceof ProviderError) return err;
  const message = `${operation} failed: ${describeError(err, apiKey)}`;
  if (err instanceof APIConnectionTimeoutError)
    return new ProviderError({ kind: 'timeout', operation, message });
  if (err instanceof APIUserAbortError) return new ProviderError({ kind: 'unknown', operation, message });
  if (err instanceof APIConnectionError)
    return new ProviderError({ kind: 'unavailable', operation, message });
  if (err instanceof APIError && typeof err.status === 'number') {
    return new ProviderError({
      kind: kindForHttpStatus(err.status),
      operation,
      message,
      status: err.status,
      retryAfterMs: err.headers ? retryAfterMsFromHeaders(err.headers) : null,
      providerCode: err.type ?? null,
      requestId: err.requestID ?? null,
    });
  }
  return new ProviderError({ kind: 'unknown', operation, message });
}
