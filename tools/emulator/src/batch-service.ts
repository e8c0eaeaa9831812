import { CHAT_COMPLETIONS_URL, ResultErrorCode } from '@batchline/domain';
import { badRequest, notFound } from './api-error.ts';
import { type BatchPlan, planBatch, withoutOutput } from './batch-plan.ts';
import { type EnqueuedTokenLimit, limitOf, tokenLimitExceeded } from './enqueued-tokens.ts';
import type { FileStore } from './file-store.ts';
import { randomId } from './ids.ts';
import { deriveLifecycle, type LifecycleState } from './lifecycle.ts';
import { expectedOutcome } from './oracle.ts';
import { type AnswerSettings, EMBEDDINGS_URL } from './request-answer.ts';
import { type NotRunCode, type ResultFiles, writeResultFiles } from './result-files.ts';
import type {
  BatchErrorEntry,
  BatchObject,
  BatchOutcome,
  EmulatorClock,
  ExpectedBatchOutcomes,
} from './types.ts';

const COMPLETION_WINDOW_MS = 24 * 3600 * 1000;
const CREATE_BATCH_FIELDS = new Set([
  'input_file_id',
  'endpoint',
  'completion_window',
  'metadata',
  'output_expires_after',
]);
const BATCH_ENDPOINTS = new Set([
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
  '/v1/images/generations',
  '/v1/images/edits',
  '/v1/videos',
]);
const CANCELLABLE = new Set(['validating', 'in_progress', 'finalizing']);
/** The statuses whose batches hold their prompt tokens against the enqueued-token limit. */
const ENQUEUED = new Set(['validating', 'in_progress', 'finalizing']);

/** The emulator's internal state of one batch (what `emulator.batch(id)` exposes to oracles). */
export interface EmulatedBatch {
  readonly id: string;
  readonly endpoint: string;
  readonly inputFileId: string;
  readonly completionWindow: string;
  readonly metadata: Record<string, string> | null;
  readonly createdAtMs: number;
  outcome: BatchOutcome;
  /** The `errors` list of a failed batch: input validation problems or the scripted errors. */
  errors: BatchErrorEntry[];
  cancelRequestedAtMs: number | null;
  plan: BatchPlan;
  /** Written once, when the batch is first seen terminal. */
  resultFiles: Promise<ResultFiles> | null;
  /** Its prompt tokens per model, held against the enqueued-token limit while it is unfinished (none if it fails). */
  enqueuedTokens: ReadonlyMap<string, number>;
}

export interface BatchHooks extends AnswerSettings {
  batchOutcome?: (batch: BatchObject) => BatchOutcome | undefined;
  /** Off (undefined) by default. */
  enqueuedTokenLimit?: EnqueuedTokenLimit;
}

const seconds = (ms: number | null): number | null => (ms === null ? null : Math.floor(ms / 1000));

/** Batches: creation, lazily derived status, result files and the oracle of what was served. */
export class BatchService {
  private readonly batches = new Map<string, EmulatedBatch>();

  constructor(
    private readonly files: FileStore,
    private readonly clock: EmulatorClock,
    private readonly now: () => number,
    private readonly hooks: BatchHooks,
  ) {}

  find(id: string): EmulatedBatch | undefined {
    return this.batches.get(id);
  }

  async create(body: unknown): Promise<BatchObject> {
    const request = parseCreateBatchBody(body);
    const file = this.files.find(request.inputFileId);
    if (!file) throw notFound('File', request.inputFileId, 'input_file_id');
    if (file.purpose !== 'batch' || !file.input) {
      throw badRequest(`File ${file.id} was not uploaded with purpose 'batch'.`, 'input_file_id');
    }
    const id = randomId('batch_');
    const errors = [...file.input.errors];
    const otherUrls = [...file.input.urls].filter((url) => url !== request.endpoint);
    if (otherUrls.length > 0) {
      errors.push({
        code: 'invalid_url',
        param: 'url',
        line: null,
        message: `The url ${JSON.stringify(otherUrls[0])} does not match the batch endpoint ${request.endpoint}.`,
      });
    }
    const overLimit = errors.length === 0 ? this.tokenLimitError(file.input.promptTokensByModel) : null;
    if (overLimit) errors.push(overLimit);
    const batch: EmulatedBatch = {
      id,
      endpoint: request.endpoint,
      inputFileId: file.id,
      completionWindow: request.completionWindow,
      metadata: request.metadata,
      createdAtMs: this.now(),
      outcome: errors.length > 0 ? { status: 'failed', errors } : { status: 'completed' },
      errors,
      cancelRequestedAtMs: null,
      plan: await planBatch(file.path, { ...this.hooks, batchId: id }),
      resultFiles: null,
      enqueuedTokens: new Map(),
    };
    if (errors.length === 0) this.applyScriptedOutcome(batch);
    if (batch.outcome.status !== 'failed') batch.enqueuedTokens = file.input.promptTokensByModel;
    this.batches.set(id, batch);
    return this.view(batch);
  }

  async retrieve(id: string): Promise<BatchObject> {
    return this.view(this.get(id));
  }

  /** Newest first, like OpenAI; `after` is the id of the last batch of the previous page. */
  async list(options: { after?: string; limit: number }) {
    const all = [...this.batches.values()].reverse();
    const found = options.after ? all.findIndex((b) => b.id === options.after) : -1;
    // An unknown cursor ends the listing rather than restarting it (a client would loop for ever).
    const start = options.after ? (found === -1 ? all.length : found + 1) : 0;
    const page = all.slice(start, start + options.limit);
    const data = await Promise.all(page.map((batch) => this.view(batch)));
    return {
      object: 'list' as const,
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + options.limit < all.length,
    };
  }

  async cancel(id: string): Promise<BatchObject> {
    const batch = this.get(id);
    const now = this.now();
    const { status } = this.lifecycle(batch, now);
    if (CANCELLABLE.has(status)) batch.cancelRequestedAtMs = now;
    else if (status !== 'cancelling') throw badRequest(`Cannot cancel a batch with status '${status}'.`);
    return this.view(batch);
  }

  /** For each input request, what the emulator served, mapped to docs/interface.md §4 (see `ExpectedOutcome`). */
  async expectedOutcomes(id: string): Promise<ExpectedBatchOutcomes> {
    const batch = this.get(id);
    const state = this.lifecycle(batch, this.now());
    const { requests, executionOrder } = batch.plan;
    const ranCount = state.status === 'failed' ? 0 : ranCountOf(batch, state);
    const ran = new Set<number>(executionOrder.subarray(0, ranCount));
    const notRunCode = notRunCodeOf(state);
    const outcomes = requests.map((request, index) =>
      state.status === 'failed'
        ? {
            customId: request.customId,
            outcome: 'missing' as const,
            errorCode: ResultErrorCode.missingResult,
          }
        : expectedOutcome(request, ran.has(index), notRunCode, 'openai'),
    );
    const files = state.terminal && state.status !== 'failed' ? await this.resultFilesOf(batch, state) : null;
    return {
      batchId: id,
      status: state.status,
      final: state.terminal,
      outcomes,
      unattributableLines: files?.unattributableLines ?? [],
    };
  }

  /**
   * The `token_limit_exceeded` error of a new batch whose prompt tokens, added to those of the model's unfinished
   * batches now, pass the model's limit; null when every model has room (or no limit is set).
   */
  private tokenLimitError(promptTokens: ReadonlyMap<string, number>): BatchErrorEntry | null {
    const now = this.now();
    for (const [model, tokens] of promptTokens) {
      const limit = limitOf(this.hooks.enqueuedTokenLimit, model);
      if (limit === undefined) continue;
      let enqueued = 0;
      for (const batch of this.batches.values()) {
        const held = batch.enqueuedTokens.get(model);
        if (held !== undefined && ENQUEUED.has(this.lifecycle(batch, now).status)) enqueued += held;
      }
      if (enqueued + tokens > limit) return tokenLimitExceeded(model, limit);
    }
    return null;
  }

  private get(id: string): EmulatedBatch {
    const batch = this.batches.get(id);
    if (!batch) throw notFound('Batch', id, 'batch_id');
    return batch;
  }

  private applyScriptedOutcome(batch: EmulatedBatch): void {
    const scripted = this.hooks.batchOutcome?.(
      this.objectOf(batch, this.lifecycle(batch, batch.createdAtMs), null),
    );
    if (!scripted) return;
    batch.outcome = scripted;
    if (scripted.status === 'failed') {
      batch.errors = scripted.errors.map((e) => ({
        code: e.code,
        message: e.message,
        param: e.param ?? null,
        line: e.line ?? null,
      }));
    }
    if (scripted.status === 'completed' && scripted.noOutput) batch.plan = withoutOutput(batch.plan);
  }

  private lifecycle(batch: EmulatedBatch, now: number): LifecycleState {
    return deriveLifecycle(
      {
        createdAtMs: batch.createdAtMs,
        clock: this.clock,
        outcome: batch.outcome,
        cancelRequestedAtMs: batch.cancelRequestedAtMs,
      },
      now,
    );
  }

  private async view(batch: EmulatedBatch): Promise<BatchObject> {
    const state = this.lifecycle(batch, this.now());
    const files = state.terminal && state.status !== 'failed' ? await this.resultFilesOf(batch, state) : null;
    return this.objectOf(batch, state, files);
  }

  private resultFilesOf(batch: EmulatedBatch, state: LifecycleState): Promise<ResultFiles> {
    if (!batch.resultFiles) {
      const answeredAtMs = state.inProgressAtMs ?? batch.createdAtMs;
      batch.resultFiles = writeResultFiles(this.files, {
        batchId: batch.id,
        plan: batch.plan,
        ranCount: ranCountOf(batch, state),
        notRunCode: notRunCodeOf(state),
        answeredAt: Math.floor(answeredAtMs / 1000),
      });
      // A failed write (disk full) is retried on the next read rather than remembered.
      batch.resultFiles.catch(() => {
        batch.resultFiles = null;
      });
    }
    return batch.resultFiles;
  }

  private objectOf(batch: EmulatedBatch, state: LifecycleState, files: ResultFiles | null): BatchObject {
    const total = batch.plan.requests.length;
    const counted = state.status !== 'validating' && state.status !== 'failed';
    const ranCount = counted ? ranCountOf(batch, state) : 0;
    const failedRan = batch.plan.failedBefore[ranCount]!;
    // Requests cut off by a cancellation or expiry count as failed once the batch is over.
    const cutOff = state.terminal ? total - ranCount : 0;
    const inputTokens = files?.inputTokens ?? 0;
    const outputTokens = files?.outputTokens ?? 0;
    return {
      id: batch.id,
      object: 'batch',
      endpoint: batch.endpoint,
      model: batch.plan.model,
      errors: state.status === 'failed' ? { object: 'list', data: batch.errors } : null,
      input_file_id: batch.inputFileId,
      completion_window: batch.completionWindow,
      status: state.status,
      output_file_id: files?.outputFile?.id ?? null,
      error_file_id: files?.errorFile?.id ?? null,
      created_at: Math.floor(batch.createdAtMs / 1000),
      in_progress_at: seconds(state.inProgressAtMs),
      expires_at: Math.floor((batch.createdAtMs + COMPLETION_WINDOW_MS) / 1000),
      finalizing_at: seconds(state.finalizingAtMs),
      completed_at: seconds(state.completedAtMs),
      failed_at: seconds(state.failedAtMs),
      expired_at: seconds(state.expiredAtMs),
      cancelling_at: seconds(state.cancellingAtMs),
      cancelled_at: seconds(state.status === 'cancelled' ? state.cancelledAtMs : null),
      request_counts: counted
        ? { total, completed: ranCount - failedRan, failed: failedRan + cutOff }
        : { total: 0, completed: 0, failed: 0 },
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + outputTokens,
      },
      metadata: batch.metadata,
    };
  }
}

const ranCountOf = (batch: EmulatedBatch, state: LifecycleState): number =>
  Math.min(batch.plan.requests.length, Math.floor(state.ranFraction * batch.plan.requests.length + 1e-9));

const notRunCodeOf = (state: LifecycleState): NotRunCode =>
  state.status === 'expired' ? ResultErrorCode.batchExpired : ResultErrorCode.batchCancelled;

interface CreateBatchRequest {
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
}

/** Validates a create-batch body the way OpenAI does (400 with the offending `param`). */
function parseCreateBatchBody(body: unknown): CreateBatchRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a JSON object.');
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !CREATE_BATCH_FIELDS.has(key));
  if (unknown) throw badRequest(`Unrecognized request argument supplied: ${unknown}`, unknown);
  const required = (name: string): string => {
    const value = fields[name];
    if (value === undefined || value === null)
      throw badRequest(`Missing required parameter: '${name}'.`, name);
    if (typeof value !== 'string') throw badRequest(`Invalid type for '${name}': expected a string.`, name);
    return value;
  };
  const inputFileId = required('input_file_id');
  const endpoint = required('endpoint');
  const completionWindow = required('completion_window');
  if (!BATCH_ENDPOINTS.has(endpoint))
    throw badRequest(`Invalid value for 'endpoint': ${endpoint}.`, 'endpoint');
  if (endpoint !== CHAT_COMPLETIONS_URL && endpoint !== EMBEDDINGS_URL) {
    throw badRequest(
      `The emulator only runs batches for ${CHAT_COMPLETIONS_URL} and ${EMBEDDINGS_URL}.`,
      'endpoint',
    );
  }
  if (completionWindow !== '24h') {
    throw badRequest(
      `Invalid value for 'completion_window': ${completionWindow}. Supported values are: '24h'.`,
      'completion_window',
    );
  }
  return { inputFileId, endpoint, completionWindow, metadata: parseMetadata(fields.metadata) };
}

/** Metadata: at most 16 pairs, keys up to 64 characters, string values up to 512. */
function parseMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest("Invalid type for 'metadata': expected an object.", 'metadata');
  }
  const entries = Object.entries(value);
  if (entries.length > 16) throw badRequest("'metadata' can have at most 16 keys.", 'metadata');
  for (const [key, item] of entries) {
    if (key.length > 64)
      throw badRequest(`'metadata' key ${key.slice(0, 70)} is longer than 64 characters.`, 'metadata');
    if (typeof item !== 'string' || item.length > 512) {
      throw badRequest(`'metadata.${key}' must be a string of at most 512 characters.`, 'metadata');
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
