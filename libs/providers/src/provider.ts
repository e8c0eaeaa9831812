import type { Readable } from 'node:stream';
import type {
  BatchLimits,
  EndedRequestCounts,
  LineContext,
  ParsedLine,
  ProviderName,
} from '@batchline/domain';

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

export interface ProviderBatchError {
  code: string | null;
  message: string | null;
  /** Line of the input file the error is about, when the provider says. */
  line: number | null;
}

/**
 * A provider's batch, normalized: the provider's own `status` string (map it with `classifyProviderStatus` from
 * `@batchline/domain`), its result files, counts and errors. `raw` is the provider's object as received.
 */
export interface ProviderBatch {
  provider: ProviderName;
  id: string;
  status: string;
  inputFileId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  requestCounts: RequestCounts | null;
  /**
   * Requests cut off before they ran, by cancellation or expiry. Tells why an Anthropic batch `ended` (pass it
   * to `classifyProviderStatus`); always zero for OpenAI, whose status says it.
   */
  endedRequestCounts: EndedRequestCounts;
  errors: ProviderBatchError[];
  /** Creation time in epoch milliseconds. */
  createdAt: number;
  raw: unknown;
}

export interface CreateBatchInput {
  /** A JSONL file of requests in the provider's format. */
  inputPath: string;
  /** The endpoint every request targets, e.g. `/v1/chat/completions`. */
  endpoint: string;
  completionWindow?: string;
  metadata?: Record<string, string>;
}

export interface ListBatchesPage {
  batches: ProviderBatch[];
  hasMore: boolean;
  /** Pass as `after` to get the next page. */
  lastId: string | null;
}

/**
 * What the services need from a batch provider. Every method throws `ProviderError` (classified once, with
 * `kind` and `retryAfterMs`) for a failure of the provider or of the way to it, and never retries on its own: the
 * poller schedules retries. The Anthropic adapter implements the same interface; its results stream is opened
 * with `openFile` too, under the id it reports as `outputFileId` (the batch id).
 */
export interface BatchProvider {
  readonly name: ProviderName;
  /** The most one batch may hold; `submit` splits larger inputs into several batches. */
  readonly limits: BatchLimits;
  /**
   * Whether the provider keeps a batch's input as a file (OpenAI). Anthropic does not, but its results have a
   * line for every request, so no request can go missing there.
   */
  readonly hasInputFiles: boolean;
  /** Parses one line of this provider's result files (docs/interface.md §4). */
  parseResultLine(raw: string, ctx: LineContext): ParsedLine;
  uploadAndCreateBatch(input: CreateBatchInput): Promise<ProviderBatch>;
  getBatch(id: string): Promise<ProviderBatch>;
  cancelBatch(id: string): Promise<ProviderBatch>;
  /** A result file's content as a byte stream, read from the network as it is consumed. */
  openFile(fileId: string): Promise<Readable>;
  /** Deletes a file (Anthropic: the batch with its results, `fileId` being the batch id it reports as output). */
  deleteFile(fileId: string): Promise<void>;
  listBatches(options?: { after?: string; limit?: number }): Promise<ListBatchesPage>;
}
