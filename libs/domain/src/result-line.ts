import {
  type AnswerCheck,
  failedRecord,
  httpErrorCode,
  MAX_ERROR_MESSAGE_LENGTH,
  type RequestId,
  ResultErrorCode,
  type ResultRecord,
} from './result-record.ts';

/** Which result file a line came from. */
export type ResultFileKind = 'output' | 'error' | 'results';

/** The endpoint whose answers are vectors (the response body), not a message. */
const EMBEDDINGS_URL = '/v1/embeddings';

/**
 * What reading a result line needs of the batch's job type. A `JobType` of libs/job-types is one (this package
 * cannot import it: job types build on the domain).
 */
export interface ResultReader {
  /** `/v1/chat/completions` or `/v1/embeddings`. */
  readonly endpoint: string;
  readonly declaration: { readonly customIdPrefix: string };
  /** The request id in a custom id, or null when it is not `<prefix>-<id>` of this job type. */
  parseCustomId(customId: string): RequestId | null;
  /** Checks a chat answer: its content text, or an already parsed object (Anthropic tool use). */
  checkAnswer(content: unknown, isCatalogueKey: (key: string) => boolean): AnswerCheck;
  /** Checks an embeddings response body. */
  checkEmbedding(body: unknown): AnswerCheck;
}

export interface LineContext {
  file: ResultFileKind;
  /** 1-based line number within its file. */
  line: number;
  /** The batch's job type. */
  jobType: ResultReader;
  /** Whether a value is a key of the job type's catalogue (as text). */
  isCatalogueKey: (key: string) => boolean;
}

export type ParsedLine =
  | { kind: 'record'; record: ResultRecord }
  | { kind: 'blank' }
  /** A line that cannot be attributed to a request: counted in `log_details` with its location. */
  | { kind: 'invalid_line'; file: ResultFileKind; line: number; error: string };

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
  | { ok: true; value: Record<string, unknown>; customId: string; requestId: RequestId | null }
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
  return { ok: true, value, customId, requestId: ctx.jobType.parseCustomId(customId) };
}

/** Strips a UTF-8 byte-order mark and a trailing CR; reports blank lines. */
function normaliseLine(raw: string): string | null {
  const line = raw.replace(/^\uFEFF/, '').replace(/\r$/, '');
  return line.trim().length === 0 ? null : line;
}

type Tokens = Pick<ResultRecord, 'promptTokens' | 'completionTokens' | 'cachedPromptTokens'>;

/** The cached part of the prompt, only when the provider said it (records without it stay as they were). */
const cachedPart = (cached: number | null): Pick<Tokens, 'cachedPromptTokens'> =>
  cached === null ? {} : { cachedPromptTokens: cached };

/** What a provider-specific reader makes of an attributable line. */
interface LineReader {
  tokens(value: Record<string, unknown>): Tokens;
  outcome(
    value: Record<string, unknown>,
    customId: string,
    requestId: RequestId,
    tokens: Tokens,
  ): ResultRecord;
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
  const { value, customId, requestId } = json;
  const tokens = reader.tokens(value);
  if (requestId === null) {
    const form = `${ctx.jobType.declaration.customIdPrefix}-<id>`;
    const message = `custom_id ${JSON.stringify(customId.slice(0, 80))} is not of the form ${form}`;
    return record(failedRecord(customId, null, ResultErrorCode.invalidCustomId, message, tokens));
  }
  return record(reader.outcome(value, customId, requestId, tokens));
}

/** An answer: succeeded with the rows the job type's check extracted, or failed with its code. */
function checkedRecord(
  customId: string,
  requestId: RequestId,
  check: AnswerCheck,
  tokens: Tokens,
): ResultRecord {
  if (!check.ok) return failedRecord(customId, requestId, check.code, check.message, tokens);
  return {
    customId,
    requestId,
    outcome: 'succeeded',
    rows: check.rows,
    errorCode: null,
    errorMessage: null,
    ...tokens,
  };
}

/**
 * Parses one line of an OpenAI batch output or error file into a request outcome (docs/interface.md §4). Precedence: an
 * unattributable line, then a malformed `custom_id`, the line's `error`, a non-200 status, then the answer as the
 * job type checks it: a chat answer's `choices[0].message.content`, an embeddings answer's response body.
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
      const details = usage && isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : null;
      return {
        promptTokens: tokenCount(usage?.prompt_tokens),
        completionTokens: tokenCount(usage?.completion_tokens),
        ...cachedPart(tokenCount(details?.cached_tokens)),
      };
    },
    outcome(value, customId, requestId, tokens) {
      if (isObject(value.error)) {
        const code =
          typeof value.error.code === 'string' && value.error.code ? value.error.code : 'provider_error';
        return failedRecord(customId, requestId, code, text(value.error.message), tokens);
      }
      const { response, body } = bodyOf(value);
      const status = response?.status_code;
      if (status !== 200) {
        const errorBody = body && isObject(body.error) ? body.error : null;
        const code = typeof status === 'number' ? httpErrorCode(status) : 'http_unknown';
        return failedRecord(
          customId,
          requestId,
          code,
          text(errorBody?.message) ?? 'response status is not 200',
          tokens,
        );
      }
      const { jobType } = ctx;
      if (jobType.endpoint === EMBEDDINGS_URL) {
        return checkedRecord(customId, requestId, jobType.checkEmbedding(body), tokens);
      }
      const choices = body && Array.isArray(body.choices) ? body.choices : [];
      const first = choices[0];
      const message = isObject(first) && isObject(first.message) ? first.message : null;
      return checkedRecord(
        customId,
        requestId,
        jobType.checkAnswer(message?.content, ctx.isCatalogueKey),
        tokens,
      );
    },
  });
}

/**
 * Parses one line of an Anthropic Message Batches results stream: a `succeeded` message's answer is its `tool_use`
 * block's input (the forced `answer` tool of a job type with a response schema), else its first text block, checked
 * like OpenAI content; `errored` is recorded with its error's type, `canceled` and `expired` with our codes.
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
      // Anthropic counts cache reads and writes apart from input_tokens; the prompt is all three.
      const input = tokenCount(usage?.input_tokens);
      const cacheRead = tokenCount(usage?.cache_read_input_tokens);
      const cacheWrite = tokenCount(usage?.cache_creation_input_tokens);
      return {
        promptTokens: input === null ? null : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
        completionTokens: tokenCount(usage?.output_tokens),
        ...cachedPart(cacheRead),
      };
    },
    outcome(value, customId, requestId, tokens) {
      const { result, message } = resultOf(value);
      switch (result?.type) {
        case 'succeeded': {
          const check = ctx.jobType.checkAnswer(anthropicAnswer(message), ctx.isCatalogueKey);
          return checkedRecord(customId, requestId, check, tokens);
        }
        case 'errored': {
          // { type: 'errored', error: { type: 'error', error: { type: 'invalid_request_error', message } } }
          const outer = isObject(result.error) ? result.error : null;
          const inner = outer && isObject(outer.error) ? outer.error : outer;
          const code = typeof inner?.type === 'string' ? inner.type : 'provider_error';
          return failedRecord(customId, requestId, code, text(inner?.message), tokens);
        }
        case 'canceled':
          return failedRecord(
            customId,
            requestId,
            ResultErrorCode.batchCancelled,
            'the batch was cancelled before this request ran',
            tokens,
          );
        case 'expired':
          return failedRecord(
            customId,
            requestId,
            ResultErrorCode.batchExpired,
            'the batch expired before this request ran',
            tokens,
          );
        default:
          return failedRecord(
            customId,
            requestId,
            ResultErrorCode.invalidContent,
            `unknown result type ${JSON.stringify(result?.type ?? null)}`,
            tokens,
          );
      }
    },
  });
}

/** The answer of a succeeded Anthropic message: the first `tool_use` block's input, else the first text block's text. */
function anthropicAnswer(message: Record<string, unknown> | null): unknown {
  const blocks = message && Array.isArray(message.content) ? message.content : [];
  const toolUse = blocks.find((block) => isObject(block) && block.type === 'tool_use');
  if (isObject(toolUse)) return toolUse.input;
  const firstText = blocks.find((block) => isObject(block) && block.type === 'text');
  return isObject(firstText) ? firstText.text : undefined;
}

const record = (r: ResultRecord): ParsedLine => ({ kind: 'record', record: r });
