import { LineSplitter, type SplitLine } from '@batchline/domain';
import { PromptTokenCounter } from '@batchline/job-types';
import type { BatchErrorEntry, BatchRequestLine } from './types.ts';

/** OpenAI's per-line limit for a batch input is far below this; longer lines are rejected without buffering. */
const MAX_INPUT_LINE_BYTES = 16 * 1024 * 1024;
/** A batch's `errors` list keeps this many entries, like OpenAI's, which reports the first problems only. */
const MAX_REPORTED_ERRORS = 100;
/** Counts each line's prompt tokens for the enqueued-token limit (a job type's instructions counted once). */
const promptTokens = new PromptTokenCounter();

export interface InputFileSummary {
  requestCount: number;
  /** Why a batch over this file fails validation; empty when the file is a valid batch input. */
  errors: BatchErrorEntry[];
  /** Distinct `url`s of the requests, checked against the batch's endpoint. */
  urls: Set<string>;
  /** Prompt tokens of the requests per model (counted only when an enqueued-token limit is enforced). */
  promptTokensByModel: Map<string, number>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Parses one input line into a request, or says why it is not one. Upload validation and batch planning both use
 * it, so they agree on what a request is.
 */
export function parseRequestLine(
  raw: string,
):
  | { ok: true; request: BatchRequestLine }
  | { ok: false; code: string; param: string | null; message: string } {
  const text = raw.replace(/^\uFEFF/, '').replace(/\r$/, '');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      code: 'invalid_json_line',
      param: null,
      message: 'This line is not parseable as valid JSON.',
    };
  }
  if (!isObject(value)) {
    return { ok: false, code: 'invalid_json_line', param: null, message: 'This line is not a JSON object.' };
  }
  for (const param of ['custom_id', 'method', 'url', 'body'] as const) {
    if (value[param] === undefined || value[param] === null) {
      return {
        ok: false,
        code: 'missing_required_parameter',
        param,
        message: `Missing required parameter: '${param}'.`,
      };
    }
  }
  const { custom_id, method, url, body } = value;
  if (typeof custom_id !== 'string' || custom_id.length === 0) {
    return {
      ok: false,
      code: 'invalid_request',
      param: 'custom_id',
      message: "'custom_id' must be a non-empty string.",
    };
  }
  if (method !== 'POST') {
    return {
      ok: false,
      code: 'invalid_request',
      param: 'method',
      message: "Only the 'POST' method is supported.",
    };
  }
  if (typeof url !== 'string') {
    return { ok: false, code: 'invalid_request', param: 'url', message: "'url' must be a string." };
  }
  if (!isObject(body)) {
    return { ok: false, code: 'invalid_request', param: 'body', message: "'body' must be an object." };
  }
  return { ok: true, request: { custom_id, method, url, body } };
}

/**
 * Checks a batch input file as it streams in: every line a request, `custom_id`s unique; with `countTokens`, the
 * prompt tokens per model too (a tokenizer per line costs time, spent only where a limit needs them).
 */
export class InputFileCheck {
  private readonly splitter = new LineSplitter(MAX_INPUT_LINE_BYTES);
  private readonly customIds = new Set<string>();
  private readonly summary: InputFileSummary = {
    requestCount: 0,
    errors: [],
    urls: new Set(),
    promptTokensByModel: new Map(),
  };

  constructor(private readonly countTokens = false) {}

  push(chunk: Buffer): void {
    this.splitter.push(chunk, (line) => this.check(line));
  }

  end(): InputFileSummary {
    this.splitter.end((line) => this.check(line));
    if (this.summary.requestCount === 0 && this.summary.errors.length === 0) {
      this.fail({
        code: 'empty_file',
        param: null,
        line: null,
        message: 'The input file contains no requests.',
      });
    }
    return this.summary;
  }

  private check({ line, text }: SplitLine): void {
    if (text === null) {
      this.fail({ code: 'invalid_json_line', param: null, line, message: 'This line is too long.' });
      return;
    }
    const parsed = parseRequestLine(text);
    if (!parsed.ok) {
      this.fail({ code: parsed.code, param: parsed.param, line, message: parsed.message });
      return;
    }
    const { custom_id, url, body } = parsed.request;
    if (this.customIds.has(custom_id)) {
      this.fail({
        code: 'duplicate_custom_id',
        param: 'custom_id',
        line,
        message:
          'The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each individual request in a batch.',
      });
      return;
    }
    this.customIds.add(custom_id);
    this.summary.urls.add(url);
    this.summary.requestCount += 1;
    if (this.countTokens) {
      const model = typeof body.model === 'string' ? body.model : '';
      const counted = this.summary.promptTokensByModel;
      counted.set(model, (counted.get(model) ?? 0) + promptTokens.count(body));
    }
  }

  private fail(error: BatchErrorEntry): void {
    if (this.summary.errors.length < MAX_REPORTED_ERRORS) this.summary.errors.push(error);
  }
}
