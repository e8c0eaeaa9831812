import { ResultErrorCode } from '@batchline/domain';
import { AnthropicApiError } from './api-error.ts';
import { type BatchPlan, type PlannedRequest, planRequests } from './batch-plan.ts';
import { derivedId, randomId } from './ids.ts';
import { deriveLifecycle, type LifecycleState } from './lifecycle.ts';
import { messageRequestAsLine } from './message-request.ts';
import { expectedOutcome, failureCode, servedAnswer } from './oracle.ts';
import type { AnswerSettings } from './request-answer.ts';
import type {
  BatchRequestLine,
  EmulatorClock,
  ExpectedBatchOutcomes,
  MessageBatchObject,
  MessageBatchOutcome,
} from './types.ts';

/** Anthropic's limits for one Message Batch. */
const MAX_REQUESTS = 100_000;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const EXPIRY_MS = 24 * 3600 * 1000;

/** The emulator's internal state of one Message Batch (what `emulator.messageBatch(id)` exposes to oracles). */
export interface EmulatedMessageBatch {
  readonly id: string;
  readonly createdAtMs: number;
  outcome: MessageBatchOutcome;
  cancelRequestedAtMs: number | null;
  plan: BatchPlan;
  deleted: boolean;
}

export interface MessageBatchHooks extends AnswerSettings {
  messageBatchOutcome?: (batch: MessageBatchObject) => MessageBatchOutcome | undefined;
}

const invalid = (message: string) => new AnthropicApiError(400, message);
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Anthropic Message Batches: creation with inline requests, a status derived lazily from the clock (the same
 * phases as OpenAI batches, seen through Anthropic's three statuses), cancel, delete, and the results stream
 * rendered line by line when asked for.
 */
export class MessageBatchService {
  private readonly batches = new Map<string, EmulatedMessageBatch>();

  constructor(
    private readonly clock: EmulatorClock,
    private readonly now: () => number,
    private readonly hooks: MessageBatchHooks,
  ) {}

  find(id: string): EmulatedMessageBatch | undefined {
    return this.batches.get(id);
  }

  create(body: unknown, origin: string): MessageBatchObject {
    const lines = parseCreateBody(body);
    const id = randomId('msgbatch_');
    const batch: EmulatedMessageBatch = {
      id,
      createdAtMs: this.now(),
      outcome: { status: 'completed' },
      cancelRequestedAtMs: null,
      plan: planRequests(lines, { ...this.hooks, batchId: id }),
      deleted: false,
    };
    this.batches.set(id, batch);
    const scripted = this.hooks.messageBatchOutcome?.(this.view(batch, origin));
    if (scripted) batch.outcome = scripted;
    return this.view(batch, origin);
  }

  retrieve(id: string, origin: string): MessageBatchObject {
    return this.view(this.get(id), origin);
  }

  /** Newest first, like Anthropic; `after_id` pages towards older batches. */
  list(options: { afterId?: string; limit: number }, origin: string) {
    const all = [...this.batches.values()].filter((b) => !b.deleted).reverse();
    const found = options.afterId ? all.findIndex((b) => b.id === options.afterId) : -1;
    const start = options.afterId ? (found === -1 ? all.length : found + 1) : 0;
    const data = all.slice(start, start + options.limit).map((batch) => this.view(batch, origin));
    return {
      data,
      has_more: start + options.limit < all.length,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
    };
  }

  cancel(id: string, origin: string): MessageBatchObject {
    const batch = this.get(id);
    const state = this.lifecycle(batch);
    if (state.terminal) throw invalid(`Batch ${id} has ended and cannot be canceled.`);
    if (state.status !== 'cancelling') batch.cancelRequestedAtMs = this.now();
    return this.view(batch, origin);
  }

  delete(id: string): { id: string; type: 'message_batch_deleted' } {
    const batch = this.get(id);
    if (!this.lifecycle(batch).terminal) {
      throw invalid(`Batch ${id} is still being processed; cancel it before deleting it.`);
    }
    batch.deleted = true;
    return { id, type: 'message_batch_deleted' };
  }

  /**
   * The result lines of an ended batch, rendered one at a time as they are read (in execution order, copies at
   * the end). An unknown or unfinished batch is refused here, before anything is sent.
   */
  results(id: string): Iterable<string> {
    const batch = this.get(id);
    const state = this.lifecycle(batch);
    if (!state.terminal) throw invalid(`Batch ${id} is still being processed; its results are not ready.`);
    return renderResults(batch, state);
  }

  /** For each request of the batch, what the emulator serves, mapped to docs/interface.md §4 (the e2e oracle). */
  expectedOutcomes(id: string): ExpectedBatchOutcomes {
    const batch = this.get(id);
    const state = this.lifecycle(batch);
    const ranCount = ranCountOf(batch.plan, state);
    const ran = new Set<number>(batch.plan.executionOrder.subarray(0, ranCount));
    const notRunCode =
      state.status === 'expired' ? ResultErrorCode.batchExpired : ResultErrorCode.batchCancelled;
    const unattributableLines: ExpectedBatchOutcomes['unattributableLines'] = [];
    let lineNo = 0;
    for (const [k, index] of batch.plan.executionOrder.entries()) {
      const kind = batch.plan.requests[index]!.result.kind;
      if (k < ranCount && kind === 'omitted') continue;
      lineNo += 1;
      if (k < ranCount && kind === 'garbage') unattributableLines.push({ file: 'output', line: lineNo });
    }
    return {
      batchId: id,
      status: state.status,
      final: state.terminal,
      outcomes: batch.plan.requests.map((request, index) =>
        expectedOutcome(request, ran.has(index), notRunCode, 'anthropic'),
      ),
      unattributableLines: state.terminal ? unattributableLines : [],
    };
  }

  private get(id: string): EmulatedMessageBatch {
    const batch = this.batches.get(id);
    if (!batch || batch.deleted) throw new AnthropicApiError(404, `No batch found with id ${id}.`);
    return batch;
  }

  private lifecycle(batch: EmulatedMessageBatch): LifecycleState {
    return deriveLifecycle(
      {
        createdAtMs: batch.createdAtMs,
        clock: this.clock,
        outcome: batch.outcome,
        cancelRequestedAtMs: batch.cancelRequestedAtMs,
      },
      this.now(),
    );
  }

  private view(batch: EmulatedMessageBatch, origin: string): MessageBatchObject {
    const state = this.lifecycle(batch);
    const total = batch.plan.requests.length;
    const counts = { processing: total, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (state.terminal) {
      const ranCount = ranCountOf(batch.plan, state);
      const errored = batch.plan.failedBefore[ranCount]!;
      counts.processing = 0;
      counts.errored = errored;
      counts.succeeded = ranCount - errored;
      if (state.status === 'expired') counts.expired = total - ranCount;
      else counts.canceled = total - ranCount;
    }
    const endedAtMs = state.terminal
      ? (state.completedAtMs ?? state.expiredAtMs ?? state.cancelledAtMs ?? this.now())
      : null;
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: state.terminal
        ? 'ended'
        : state.status === 'cancelling'
          ? 'canceling'
          : 'in_progress',
      request_counts: counts,
      ended_at: iso(endedAtMs),
      created_at: new Date(batch.createdAtMs).toISOString(),
      expires_at: new Date(batch.createdAtMs + EXPIRY_MS).toISOString(),
      archived_at: null,
      cancel_initiated_at: iso(state.cancellingAtMs),
      results_url: state.terminal ? `${origin}/v1/messages/batches/${batch.id}/results` : null,
    };
  }
}

/** The lines of an ended batch's results stream. */
function* renderResults(batch: EmulatedMessageBatch, state: LifecycleState): Generator<string> {
  const { requests, executionOrder } = batch.plan;
  const ranCount = ranCountOf(batch.plan, state);
  const notRun = state.status === 'expired' ? 'expired' : 'canceled';
  const copies: PlannedRequest[] = [];
  for (const [k, index] of executionOrder.entries()) {
    const request = requests[index]!;
    if (k >= ranCount) {
      yield JSON.stringify({ custom_id: request.customId, result: { type: notRun } });
      continue;
    }
    const line = resultLine(batch.id, request);
    if (line === null) continue;
    yield line;
    if (request.duplicate) copies.push(request);
  }
  for (const request of copies) yield resultLine(batch.id, request)!;
}

const ranCountOf = (plan: BatchPlan, state: LifecycleState): number =>
  Math.min(plan.requests.length, Math.floor(state.ranFraction * plan.requests.length + 1e-9));

/** One result line of a request that ran; null for one whose line is omitted. */
function resultLine(batchId: string, request: PlannedRequest): string | null {
  const { result, customId } = request;
  switch (result.kind) {
    case 'answer': {
      const answer = servedAnswer(result);
      const toolUse = typeof answer === 'object';
      return JSON.stringify({
        custom_id: customId,
        result: {
          type: 'succeeded',
          message: {
            id: derivedId('msg_', batchId, customId),
            type: 'message',
            role: 'assistant',
            model: request.model,
            content: [
              toolUse
                ? {
                    type: 'tool_use',
                    id: derivedId('toolu_', batchId, customId),
                    name: 'answer',
                    input: answer,
                  }
                : { type: 'text', text: result.content },
            ],
            stop_reason: toolUse ? 'tool_use' : 'end_turn',
            stop_sequence: null,
            // Anthropic counts cache reads apart: input_tokens are those after the last cache breakpoint.
            usage: {
              input_tokens: request.promptTokens - request.cachedPromptTokens,
              cache_creation_input_tokens: 0,
              cache_read_input_tokens: request.cachedPromptTokens,
              output_tokens: result.completionTokens,
            },
          },
        },
      });
    }
    case 'http':
    case 'error':
      return JSON.stringify({
        custom_id: customId,
        result: {
          type: 'errored',
          error: {
            type: 'error',
            error: { type: failureCode(result, 'anthropic'), message: result.message },
          },
        },
      });
    case 'garbage':
      return result.text;
    case 'omitted':
      return null;
    case 'embeddings':
      throw new Error(`request ${customId}: Anthropic has no embeddings`);
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Validates a create body the way Anthropic does and turns each request into the chat-completions shape the
 * emulator's planner answers (the `system` prompt becomes a system message).
 */
function parseCreateBody(body: unknown): BatchRequestLine[] {
  if (!isObject(body) || !Array.isArray(body.requests)) throw invalid('requests: Field required');
  const { requests } = body;
  if (requests.length === 0) throw invalid('requests: List should have at least 1 item');
  if (requests.length > MAX_REQUESTS) throw invalid(`requests: at most ${MAX_REQUESTS} requests a batch`);
  const seen = new Set<string>();
  return requests.map((request, index) => {
    const where = `requests.${index}`;
    if (!isObject(request)) throw invalid(`${where}: Input should be an object`);
    const { custom_id: customId, params } = request;
    if (typeof customId !== 'string' || !CUSTOM_ID.test(customId)) {
      throw invalid(`${where}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
    }
    if (seen.has(customId)) throw invalid(`${where}.custom_id: Duplicate custom_id ${customId}`);
    seen.add(customId);
    if (!isObject(params)) throw invalid(`${where}.params: Field required`);
    if (typeof params.model !== 'string') throw invalid(`${where}.params.model: Field required`);
    if (typeof params.max_tokens !== 'number') throw invalid(`${where}.params.max_tokens: Field required`);
    if (!Array.isArray(params.messages)) throw invalid(`${where}.params.messages: Field required`);
    return messageRequestAsLine(customId, params);
  });
}
