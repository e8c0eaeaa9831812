import { parseCustomId } from './custom-id.ts';
import {
  failedRecord,
  httpErrorCode,
  MAX_ERROR_MESSAGE_LENGTH,
  ResultErrorCode,
  type ResultRecord,
} from './result-record.ts';

/** Which result file a line came from. */
export type ResultFileKind = 'output' | 'error' | 'results';

export interface LineContext {
  file: ResultFileKind;
  /** 1-based line number within its file. */
  line: number;
  /** Whether a viewpoint id exists in `wl_spec_vps`. */
  isKnownViewpoint: (id: number) => boolean;
}

export type ParsedLine =
  | { kind: 'record'; record: ResultRecord }
  | { kind: 'blank' }
  /** A line that cannot be attributed to a request: counted in `log_details` with its location. */
  | { kind: 'invalid_line'; file: ResultFileKind; line: number; error: string };

type ContentCheck = { ok: true; viewpointIds: number[] } | { ok: false; code: string; message: string };

const MAX_VIEWPOINTS_PER_LINE = 1000;

/**
 * Validates model output of the form `{"viewpoint_ids": [<integer>, ...]}` against the catalogue. Duplicated ids
 * count once. A line with any unknown id lands none of its ids.
 */
export function checkViewpointContent(
  content: unknown,
  isKnownViewpoint: (id: number) => boolean,
): ContentCheck {
  const invalid = (message: string): ContentCheck => ({
    ok: false,
    code: ResultErrorCode.invalidContent,
    message,
  });
  if (typeof content !== 'string') return invalid('message content is not a string');
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return invalid('message content is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return invalid('message content is not a JSON object');
  }
  const keys = Object.keys(parsed);
  if (keys.length !== 1 || keys[0] !== 'viewpoint_ids') {
    return invalid(`expected exactly the key "viewpoint_ids", got ${JSON.stringify(keys.slice(0, 5))}`);
  }
  const ids = (parsed as { viewpoint_ids: unknown }).viewpoint_ids;
  if (!Array.isArray(ids)) return invalid('"viewpoint_ids" is not an array');
  if (ids.length > MAX_VIEWPOINTS_PER_LINE) return invalid(`"viewpoint_ids" has ${ids.length} entries`);
  const unique = new Set<number>();
  for (const [index, id] of ids.entries()) {
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
      return invalid(
        `"viewpoint_ids"[${index}] is not a positive integer: ${JSON.stringify(id)}`.slice(0, 200),
      );
    }
    unique.add(id);
  }
  const unknown = [...unique].filter((id) => !isKnownViewpoint(id));
  if (unknown.length > 0) {
    return {
      ok: false,
      code: ResultErrorCode.unknownViewpoint,
      message: `viewpoint ids not in wl_spec_vps: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ', ...' : ''}`,
    };
  }
  return { ok: true, viewpointIds: [...unique] };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const tokenCount = (value: unknown): number | null =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;

const text = (value: unknown): string | null =>
  typeof value === 'string' ? value.slice(0, MAX_ERROR_MESSAGE_LENGTH) : null;

function parseJsonLine(
  raw: string,
  ctx: LineContext,
):
  | { ok: true; value: Record<string, unknown>; customId: string; sentenceId: number | null }
  | { ok: false; parsed: ParsedLine } {
  const fail = (error: string) =>
    ({ ok: false, parsed: { kind: 'invalid_line', file: ctx.file, line: ctx.line, error } }) as const;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('line is not JSON');
  }
  if (!isObject(value)) return fail('line is not a JSON object');
  const customId = value.custom_id;
  if (typeof customId !== 'string' || customId.length === 0 || customId.length > 512) {
    return fail('line has no usable "custom_id"');
  }
  return { ok: true, value, customId, sentenceId: parseCustomId(customId) };
}

/** Strips a UTF-8 byte-order mark and a trailing CR; reports blank lines. */
function normaliseLine(raw: string): string | null {
  const line = raw.replace(/^\uFEFF/, '').replace(/\r$/, '');
  return line.trim().length === 0 ? null : line;
}

type Tokens = Pick<ResultRecord, 'promptTokens' | 'completionTokens'>;

/** What a provider-specific reader makes of an attributable line. */
interface LineReader {
  tokens(value: Record<string, unknown>): Tokens;
  outcome(value: Record<string, unknown>, customId: string, sentenceId: number, tokens: Tokens): ResultRecord;
}

/**
 * The part every provider's result line shares: blank lines, lines that cannot be attributed, and a malformed
 * `custom_id` (which no provider-specific reading can rescue); the reader decides the rest.
 */
function parseResultLine(raw: string, ctx: LineContext, reader: LineReader): ParsedLine {
  const line = normaliseLine(raw);
  if (line === null) return { kind: 'blank' };
  const json = parseJsonLine(line, ctx);
  if (!json.ok) return json.parsed;
  const { value, customId, sentenceId } = json;
  const tokens = reader.tokens(value);
  if (sentenceId === null) {
    const message = `custom_id ${JSON.stringify(customId.slice(0, 80))} is not of the form rs-<positive integer>`;
    return record(failedRecord(customId, null, ResultErrorCode.invalidCustomId, message, tokens));
  }
  return record(reader.outcome(value, customId, sentenceId, tokens));
}

/** A model answer: succeeded with its viewpoints, or failed with the content check's code. */
function answerRecord(
  customId: string,
  sentenceId: number,
  content: unknown,
  ctx: LineContext,
  tokens: Tokens,
): ResultRecord {
  const check = checkViewpointContent(content, ctx.isKnownViewpoint);
  if (!check.ok) return failedRecord(customId, sentenceId, check.code, check.message, tokens);
  return {
    customId,
    sentenceId,
    outcome: 'succeeded',
    viewpointIds: check.viewpointIds,
    errorCode: null,
    errorMessage: null,
    ...tokens,
  };
}

/**
 * Parses one line of an OpenAI batch output or error file into a request outcome (docs/interface.md §4). Precedence: an
 * unattributable line, then a malformed `custom_id`, the line's `error`, a non-200 status, then the content.
 */
export function parseOpenAIResultLine(raw: string, ctx: LineContext): ParsedLine {
  const bodyOf = (value: Record<string, unknown>) => {
    const response = isObject(value.response) ? value.response : null;
    return { response, body: response && isObject(response.body) ? response.body : null };
  };
  return parseResultLine(raw, ctx, {
    tokens(value) {
      const { body } = bodyOf(value);
      const usage = body && isObject(body.usage) ? body.usage : null;
      return {
        promptTokens: tokenCount(usage?.prompt_tokens),
        completionTokens: tokenCount(usage?.completion_tokens),
      };
    },
    outcome(value, customId, sentenceId, tokens) {
      if (isObject(value.error)) {
        const code =
          typeof value.error.code === 'string' && value.error.code ? value.error.code : 'provider_error';
        return failedRecord(customId, sentenceId, code, text(value.error.message), tokens);
      }
      const { response, body } = bodyOf(value);
      const status = response?.status_code;
      if (status !== 200) {
        const errorBody = body && isObject(body.error) ? body.error : null;
        const code = typeof status === 'number' ? httpErrorCode(status) : 'http_unknown';
        return failedRecord(
          customId,
          sentenceId,
          code,
          text(errorBody?.message) ?? 'response status is not 200',
          tokens,
        );
      }
      const choices = body && Array.isArray(body.choices) ? body.choices : [];
      const first = choices[0];
      const message = isObject(first) && isObject(first.message) ? first.message : null;
      return answerRecord(customId, sentenceId, message?.content, ctx, tokens);
    },
  });
}

/**
 * Parses one line of an Anthropic Message Batches results stream: `succeeded` is validated like OpenAI content
 * (first text block); `errored` is recorded with its error's type, `canceled` and `expired` with our codes.
 */
export function parseAnthropicResultLine(raw: string, ctx: LineContext): ParsedLine {
  const resultOf = (value: Record<string, unknown>) => {
    const result = isObject(value.result) ? value.result : null;
    return { result, message: result && isObject(result.message) ? result.message : null };
  };
  return parseResultLine(raw, ctx, {
    tokens(value) {
      const { message } = resultOf(value);
      const usage = message && isObject(message.usage) ? message.usage : null;
      return {
        promptTokens: tokenCount(usage?.input_tokens),
        completionTokens: tokenCount(usage?.output_tokens),
      };
    },
    outcome(value, customId, sentenceId, tokens) {
      const { result, message } = resultOf(value);
      switch (result?.type) {
        case 'succeeded': {
          const blocks = message && Array.isArray(message.content) ? message.content : [];
          const firstText = blocks.find((block) => isObject(block) && block.type === 'text');
          return answerRecord(
            customId,
            sentenceId,
            isObject(firstText) ? firstText.text : undefined,
            ctx,
            tokens,
          );
        }
        case 'errored': {
          // { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message } } }
          const outer = isObject(result.error) ? result.error : null;
          const inner = outer && isObject(outer.error) ? outer.error : outer;
          const code = typeof inner?.type === 'string' ? inner.type : 'provider_error';
          return failedRecord(customId, sentenceId, code, text(inner?.message), tokens);
        }
        case 'canceled':
          return failedRecord(
            customId,
            sentenceId,
            ResultErrorCode.batchCancelled,
            'the batch was cancelled before this request ran',
            tokens,
          );
        case 'expired':
          return failedRecord(
            customId,
            sentenceId,
            ResultErrorCode.batchExpired,
            'the batch expired before this request ran',
            tokens,
          );
        default:
          return failedRecord(
            customId,
            sentenceId,
            ResultErrorCode.invalidContent,
            `unknown result type ${JSON.stringify(result?.type ?? null)}`,
            tokens,
          );
      }
    },
  });
}

const record = (r: ResultRecord): ParsedLine => ({ kind: 'record', record: r });
