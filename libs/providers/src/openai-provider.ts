import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PROVIDER_BATCH_LIMITS, parseOpenAIResultLine } from '@batchline/domain';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  OpenAIError,
} from 'openai';
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

export interface OpenAIProviderOptions {
  /** Defaults to `OPENAI_API_KEY`, as the SDK reads it. */
  apiKey?: string;
  /** Defaults to `OPENAI_BASE_URL`, else the SDK's (api.openai.com). */
  baseURL?: string;
  /** Per API call; the SDK's 10-minute default is far too long for a status poll. */
  timeoutMs?: number;
  /** For a file download: the longest wait for the response head and, after it, for each next byte. */
  downloadTimeoutMs?: number;
  /** For uploading an input file (up to 200 MB). */
  uploadTimeoutMs?: number;
  /** SDK retries; 0 by default because the poller schedules its own from `retryAfterMs`. */
  maxRetries?: number;
}

type BatchEndpoint = OpenAI.Batches.BatchCreateParams['endpoint'];

/** The OpenAI Batch API as a `BatchProvider`, through the official SDK. */
export function createOpenAIProvider(options: OpenAIProviderOptions = {}): BatchProvider {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const downloadTimeoutMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const uploadTimeoutMs = options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
  const { client, call, classify } = sdkClient(
    'OpenAI',
    () =>
      new OpenAI({
        apiKey: options.apiKey,
        baseURL: options.baseURL,
        timeout: timeoutMs,
        maxRetries: options.maxRetries ?? 0,
      }),
    classifyOpenAIError,
  );

  return {
    name: 'openai',
    limits: PROVIDER_BATCH_LIMITS.openai,
    hasInputFiles: true,
    parseResultLine: parseOpenAIResultLine,

    async uploadAndCreateBatch(input: CreateBatchInput): Promise<ProviderBatch> {
      // A missing input file is the caller's error, reported as such rather than as a provider failure.
      await stat(input.inputPath);
      const file = await call('uploadFile', () =>
        client.files.create(
          { file: createReadStream(input.inputPath), purpose: 'batch' },
          { timeout: uploadTimeoutMs },
        ),
      );
      // No clean-up of the file when this fails: a timed-out create may still have created a batch that needs it.
      const batch = await call('createBatch', () =>
        client.batches.create({
          input_file_id: file.id,
          endpoint: input.endpoint as BatchEndpoint,
          completion_window: (input.completionWindow ?? '24h') as '24h',
          metadata: input.metadata ?? null,
        }),
      );
      return normalizeOpenAIBatch(batch);
    },

    async getBatch(id) {
      return normalizeOpenAIBatch(await call('getBatch', () => client.batches.retrieve(id)));
    },

    async cancelBatch(id) {
      return normalizeOpenAIBatch(await call('cancelBatch', () => client.batches.cancel(id)));
    },

    async deleteFile(fileId) {
      await call('deleteFile', () => client.files.delete(fileId));
    },

    async listBatches({ after, limit } = {}) {
      const page = await call('listBatches', () => client.batches.list({ after, limit }));
      const batches = page.data.map(normalizeOpenAIBatch);
      return { batches, hasMore: page.has_more, lastId: batches.at(-1)?.id ?? null };
    },

    async openFile(fileId) {
      const controller = new AbortController();
      const response = await call('openFile', () =>
        client.files.content(fileId, { timeout: downloadTimeoutMs, signal: controller.signal }),
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
            message: `openFile failed: no data from file ${fileId} for ${downloadTimeoutMs} ms`,
          }),
        toError: (err) =>
          err instanceof OpenAIError
            ? classify(err, 'openFile')
            : new ProviderError({
                kind: 'unavailable',
                operation: 'openFile',
                message: `openFile failed: download of file ${fileId} interrupted: ${describeError(err, client.apiKey)}`,
              }),
      });
    },
  };
}

/** The normalized view of an OpenAI batch object. */
export function normalizeOpenAIBatch(batch: OpenAI.Batch): ProviderBatch {
  const counts = batch.request_counts;
  return {
    provider: 'openai',
    id: batch.id,
    status: batch.status,
    inputFileId: batch.input_file_id ?? null,
    outputFileId: batch.output_file_id ?? null,
    errorFileId: batch.error_file_id ?? null,
    requestCounts: counts
      ? { total: counts.total, completed: counts.completed, failed: counts.failed }
      : null,
    endedRequestCounts: { canceled: 0, expired: 0 },
    errors: (batch.errors?.data ?? []).map((error) => ({
      code: error.code ?? null,
      message: error.message ?? null,
      line: error.line ?? null,
    })),
    createdAt: batch.created_at * 1000,
    raw: batch,
  };
}

/** Classifies any error of an SDK call, once, into a `ProviderError`. */
export function classifyOpenAIError(
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
    const providerCode = typeof err.code === 'string' ? err.code : null;
    // OpenAI's billing 429 says `insufficient_quota` in its code and type; a pace 429 does not.
    const quotaExhausted = providerCode === 'insufficient_quota' || err.type === 'insufficient_quota';
    return new ProviderError({
      kind: kindForHttpStatus(err.status, quotaExhausted),
      operation,
      message,
      status: err.status,
      retryAfterMs: err.headers ? retryAfterMsFromHeaders(err.headers) : null,
      providerCode,
      requestId: err.requestID ?? null,
    });
  }
  return new ProviderError({ kind: 'unknown', operation, message });
}
