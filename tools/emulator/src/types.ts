import type { JobTypeSet, RequestId, RowValue } from '@batchline/job-types';
import type { EnqueuedTokenLimit } from './enqueued-tokens.ts';

/** Phase lengths of an emulated batch. Status is derived from the time elapsed since creation at each read. */
export interface EmulatorClock {
  validatingMs: number;
  inProgressMs: number;
  finalizingMs: number;
  /** How long a cancelled batch stays `cancelling`; defaults to `finalizingMs`. */
  cancellingMs: number;
}

/** One line of a batch input file, as OpenAI requires it. */
export interface BatchRequestLine {
  custom_id: string;
  method: string;
  url: string;
  body: Record<string, unknown>;
}

/**
 * How one request's result is spoiled, so that tests can produce every bad-line kind of docs/interface.md §4:
 * - `error`: a line in the error file with `error: {code, message}`;
 * - `http`: a line in the error file with a non-200 `status_code` and an error body;
 * - `content`: a 200 line in the output file whose message content is `content` (prose, unknown ids, ...); chat
 *   requests only (an embeddings request keeps its vectors);
 * - `omit`: no line in either file;
 * - `garbage`: `text`, written verbatim, in the output file instead of the answer;
 * - `duplicate`: the normal line appears twice (the copy at the end of its file).
 */
export type LineFault =
  | { kind: 'error'; code: string; message: string }
  | { kind: 'http'; status: number; message?: string }
  | { kind: 'content'; content: string }
  | { kind: 'omit' }
  | { kind: 'garbage'; text: string }
  | { kind: 'duplicate' };

/** An error entry of a batch's `errors` list. */
export interface BatchErrorEntry {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/**
 * How a batch ends, scripted by a test. `completedFraction` is the share of requests (in execution order) that
 * ran before the batch expired or was cancelled; the others land in the error file with `batch_expired` /
 * `batch_cancelled`. `noOutput` makes every request fail (http 500 lines), so the batch has only an error file.
 */
export type BatchOutcome =
  | {
      status: 'failed';
      errors: Array<{ code: string; message: string; line?: number | null; param?: string | null }>;
    }
  | { status: 'expired'; completedFraction: number }
  | { status: 'cancelled'; completedFraction: number }
  | { status: 'completed'; noOutput?: boolean };

export type BatchStatus =
  | 'validating'
  | 'failed'
  | 'in_progress'
  | 'finalizing'
  | 'completed'
  | 'expired'
  | 'cancelling'
  | 'cancelled';

/** The batch object of the API (every field of the spec's `Batch`; unset optional fields are null, as OpenAI sends them). */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  model: string | null;
  errors: { object: 'list'; data: BatchErrorEntry[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  };
  metadata: Record<string, string> | null;
}

export type FilePurpose =
  | 'assistants'
  | 'batch'
  | 'fine-tune'
  | 'vision'
  | 'user_data'
  | 'evals'
  | 'batch_output';

/** The file object of the API. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
}

export interface EmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Address to listen on: loopback by default; `0.0.0.0` inside a container. */
  host?: string;
  /** When set, only this bearer key is accepted; otherwise any non-empty key is. A missing key is always 401. */
  apiKey?: string;
  clock?: Partial<EmulatorClock>;
  /** Time source in epoch milliseconds; tests pass a manual clock to step through the phases. */
  now?: () => number;
  /** Where uploaded and generated files live; a temporary directory (removed on close) by default. */
  dataDir?: string;
  /** The job types whose requests the emulator answers (by custom id prefix and endpoint); the built-in ones by default. */
  jobTypes?: JobTypeSet;
  /** Shares of spoiled answers, chosen by custom id (see `AnswerShares`); none by default. */
  answerShares?: AnswerSharesOption;
  /**
   * Share (0 to 1) of each answered request's prompt tokens the provider says it read from its prompt cache:
   * OpenAI's `usage.prompt_tokens_details.cached_tokens` (part of `prompt_tokens`), Anthropic's
   * `cache_read_input_tokens` (apart from `input_tokens`). 0 by default.
   */
  cachedPromptShare?: number;
  /**
   * Scripted faults of single requests; a line fault wins over `answerShares`. `attempt` counts the batches that
   * carried the custom id so far, this one included (1 the first time): a retry round can then succeed
   * (`transientFailures`).
   */
  lineFaults?: (customId: string, request: BatchRequestLine, attempt: number) => LineFault | undefined;
  /**
   * OpenAI's enqueued-token limit, per model or for every model; off by default. A batch whose prompt tokens
   * (counted with the o200k tokenizer, as the batcher estimates them) and those of the model's unfinished batches
   * pass it is created, then fails at validation with `token_limit_exceeded`, as OpenAI's do.
   */
  enqueuedTokenLimit?: EnqueuedTokenLimit;
  /** Called once when a batch is created; `undefined` lets it complete normally. */
  batchOutcome?: (batch: BatchObject) => BatchOutcome | undefined;
  /** The same for an Anthropic Message Batch (which cannot fail as a whole: bad input is refused at creation). */
  messageBatchOutcome?: (batch: MessageBatchObject) => MessageBatchOutcome | undefined;
}

/**
 * Shares (0 to 1) of a job type's answers the emulator spoils. Which answers is decided by a hash of the job type
 * and the custom id, so a rerun spoils the same ones.
 * - `invalid`: answers that are not JSON or violate the response schema (`invalid_content`); for embeddings, a
 *   body without a usable vector;
 * - `unknownReference`: answers naming a key the catalogue lacks (the column's `errorCode`); only job types with a
 *   catalogue-referencing column have any.
 */
export interface AnswerShares {
  invalid?: number;
  unknownReference?: number;
}

/** Shares for every job type, overridden per job type by name. */
export interface AnswerSharesOption extends AnswerShares {
  byJobType?: Readonly<Record<string, AnswerShares>>;
}

/** How an Anthropic Message Batch ends: like `BatchOutcome`, less `failed`. */
export type MessageBatchOutcome = Exclude<BatchOutcome, { status: 'failed' }>;

/** The Message Batch object of Anthropic's API. */
export interface MessageBatchObject {
  id: string;
  type: 'message_batch';
  processing_status: 'in_progress' | 'canceling' | 'ended';
  request_counts: {
    processing: number;
    succeeded: number;
    errored: number;
    canceled: number;
    expired: number;
  };
  ended_at: string | null;
  created_at: string;
  expires_at: string;
  archived_at: string | null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

/**
 * A fault served instead of (or on top of) the normal response of matching requests. With `status`, the response
 * is replaced by `status`/`headers`/`body`; without it the normal response is served, cut after
 * `truncateAfterBytes` body bytes (the connection is destroyed: a download that closes midway) or stalled for
 * good after `stallAfterBytes`. `delayMs` delays the response (`Infinity`: it never comes).
 */
export interface HttpFault {
  method?: string;
  /** Matched against the path without the query string, e.g. `/v1/batches/batch_abc`. */
  path: RegExp;
  status?: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON, a string as is; with `status` and no body, an OpenAI error body is generated. */
  body?: unknown;
  /** How many requests the fault applies to (default 1; `Infinity` for all). */
  times?: number;
  delayMs?: number;
  truncateAfterBytes?: number;
  stallAfterBytes?: number;
}

export interface InjectedFault {
  /** How many requests the fault has been applied to. */
  readonly hits: number;
  remove(): void;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  /** The status sent; for a response cut short, the status of its head. */
  status: number;
  /** False when the connection closed before the response was complete. */
  completed: boolean;
  /** When the response ended, by the emulator's time source (`options.now`). */
  at: number;
}

/**
 * What the emulator served for one input request, mapped to docs/interface.md §4: `succeeded` with the rows its
 * job type lands, `failed` with the error code the served line implies, or `missing` (no attributable line: lands
 * as `missing_result`).
 */
export type ExpectedOutcome = SucceededOutcome | FailedOutcome;

export interface SucceededOutcome {
  customId: string;
  outcome: 'succeeded';
  /** The job type whose rows land. */
  jobType: string;
  requestId: RequestId;
  /** The value columns of each row, in the job type's `target.valueColumns` order (as `checkAnswer` gives them). */
  rows: RowValue[][];
  /** For `specific_viewpoint`: the viewpoint ids of its rows, each once; empty for other job types. */
  viewpointIds: number[];
}

export type FailedOutcome =
  | { customId: string; outcome: 'failed'; errorCode: string }
  | { customId: string; outcome: 'missing'; errorCode: 'missing_result' };

export interface ExpectedBatchOutcomes {
  batchId: string;
  /** The batch's phase in OpenAI's terms (an Anthropic batch that `ended` shows how: completed, expired, ...). */
  status: BatchStatus;
  /** False while the batch is not terminal: the outcomes are then those of the files it would produce now. */
  final: boolean;
  /** One entry per input request, in input order. */
  outcomes: ExpectedOutcome[];
  /** Lines that are not JSON (garbage), which docs/interface.md §4 counts in `log_details` with their line number. */
  unattributableLines: Array<{ file: 'output' | 'error'; line: number }>;
}
