import { builtInJobTypes } from '@batchline/job-types';
import { describe, expect, it } from 'vitest';
import {
  type LineContext,
  type ParsedLine,
  parseAnthropicResultLine,
  parseOpenAIResultLine,
} from '../index.ts';

const known = new Set(['1', '2', '3', '101']);
/** specific_viewpoint as it ships: the result lines of §4 read through the job type. */
const ctx: LineContext = {
  file: 'output',
  line: 7,
  jobType: builtInJobTypes().default,
  isCatalogueKey: (key) => known.has(key),
};

const okLine = (customId: string, content: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: 'batch_req_1',
    custom_id: customId,
    response: {
      status_code: 200,
      request_id: 'req_1',
      body: {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 120, completion_tokens: 9, total_tokens: 129 },
      },
    },
    error: null,
    ...extra,
  });

const recordOf = (parsed: ParsedLine) => {
  if (parsed.kind !== 'record') throw new Error(`expected a record, got ${parsed.kind}`);
  return parsed.record;
};

describe('parseOpenAIResultLine', () => {
  it('a good line succeeds with its ids and tokens', () => {
    expect(recordOf(parseOpenAIResultLine(okLine('rs-5', '{"viewpoint_ids":[101,3]}'), ctx))).toEqual({
      customId: 'rs-5',
      requestId: 5,
      outcome: 'succeeded',
      rows: [[101], [3]],
      errorCode: null,
      errorMessage: null,
      promptTokens: 120,
      completionTokens: 9,
    });
  });

  it('tolerates a BOM and CRLF', () => {
    expect(
      recordOf(parseOpenAIResultLine(`\uFEFF${okLine('rs-5', '{"viewpoint_ids":[]}')}\r`, ctx)).outcome,
    ).toBe('succeeded');
  });

  it('blank lines are blank', () => {
    expect(parseOpenAIResultLine('  \r', ctx)).toEqual({ kind: 'blank' });
  });

  it('a non-JSON line is invalid with its location', () => {
    expect(parseOpenAIResultLine('{"custom_id": "rs-1", ', ctx)).toEqual({
      kind: 'invalid_line',
      file: 'output',
      line: 7,
      error: 'line is not JSON',
    });
  });

  it('a line without custom_id cannot be attributed', () => {
    expect(parseOpenAIResultLine('{"response":null}', ctx)).toMatchObject({ kind: 'invalid_line' });
    expect(parseOpenAIResultLine('[1,2]', ctx)).toMatchObject({ kind: 'invalid_line' });
  });

  it('error set → the provider code', () => {
    const line = JSON.stringify({
      id: 'x',
      custom_id: 'rs-9',
      response: null,
      error: { code: 'batch_expired', message: 'too late' },
    });
    expect(recordOf(parseOpenAIResultLine(line, ctx))).toMatchObject({
      outcome: 'failed',
      requestId: 9,
      errorCode: 'batch_expired',
      errorMessage: 'too late',
      rows: [],
    });
  });

  it('non-200 status → http_<status> with the body message', () => {
    const line = JSON.stringify({
      id: 'x',
      custom_id: 'rs-9',
      response: {
        status_code: 429,
        request_id: 'r',
        body: { error: { message: 'slow down', type: 'rate_limit' } },
      },
      error: null,
    });
    expect(recordOf(parseOpenAIResultLine(line, ctx))).toMatchObject({
      errorCode: 'http_429',
      errorMessage: 'slow down',
    });
  });

  it('invalid content → invalid_content', () => {
    expect(recordOf(parseOpenAIResultLine(okLine('rs-2', 'battery life, I think'), ctx))).toMatchObject({
      outcome: 'failed',
      errorCode: 'invalid_content',
      promptTokens: 120,
    });
  });

  it.each([
    ['prose', 'It is about battery life'],
    ['a JSON array', '[1,2]'],
    ['strings', '{"viewpoint_ids":["1"]}'],
    ['floats', '{"viewpoint_ids":[1.5]}'],
    ['negative', '{"viewpoint_ids":[-1]}'],
    ['zero', '{"viewpoint_ids":[0]}'],
    ['nested', '{"viewpoint_ids":[[1]]}'],
    ['wrong key', '{"ids":[1]}'],
    ['extra key', '{"viewpoint_ids":[1],"reason":"x"}'],
    ['not an array', '{"viewpoint_ids":1}'],
    ['null', 'null'],
    ['too many ids', JSON.stringify({ viewpoint_ids: Array.from({ length: 1001 }, (_, i) => (i % 3) + 1) })],
  ])('%s → invalid_content, as before job types', (_label, content) => {
    expect(recordOf(parseOpenAIResultLine(okLine('rs-2', content), ctx))).toMatchObject({
      outcome: 'failed',
      errorCode: 'invalid_content',
      rows: [],
    });
  });

  it('unknown viewpoint → unknown_viewpoint, landing none of the ids', () => {
    expect(recordOf(parseOpenAIResultLine(okLine('rs-2', '{"viewpoint_ids":[1,77]}'), ctx))).toMatchObject({
      outcome: 'failed',
      errorCode: 'unknown_viewpoint',
      rows: [],
    });
  });

  it('malformed custom_id → invalid_custom_id with a null sentence', () => {
    expect(recordOf(parseOpenAIResultLine(okLine('review-2', '{"viewpoint_ids":[1]}'), ctx))).toMatchObject({
      customId: 'review-2',
      requestId: null,
      outcome: 'failed',
      errorCode: 'invalid_custom_id',
      errorMessage: 'custom_id "review-2" is not of the form rs-<id>',
      rows: [],
    });
  });

  it('truncates very long error messages', () => {
    const line = JSON.stringify({
      custom_id: 'rs-1',
      response: null,
      error: { code: 'x', message: 'm'.repeat(100_000) },
    });
    expect(recordOf(parseOpenAIResultLine(line, ctx)).errorMessage).toHaveLength(500);
  });

  it('keeps hostile text as data', () => {
    const content = "'; DROP TABLE batch_request_results; --\n\u001b[31m{{x}}";
    const record = recordOf(parseOpenAIResultLine(okLine('rs-3', content), ctx));
    expect(record.errorCode).toBe('invalid_content');
  });
});

describe('parseAnthropicResultLine', () => {
  const line = (result: unknown, customId = 'rs-4') => JSON.stringify({ custom_id: customId, result });
  it('succeeded with the first text block', () => {
    const parsed = parseAnthropicResultLine(
      line({
        type: 'succeeded',
        message: {
          content: [
            { type: 'thinking', thinking: '...' },
            { type: 'text', text: '{"viewpoint_ids":[2]}' },
          ],
          usage: { input_tokens: 50, output_tokens: 5 },
        },
      }),
      { ...ctx, file: 'results' },
    );
    expect(recordOf(parsed)).toMatchObject({
      outcome: 'succeeded',
      promptTokens: 50,
      completionTokens: 5,
      rows: [[2]],
    });
  });
  it('succeeded with the forced tool’s input, before any text block', () => {
    const parsed = parseAnthropicResultLine(
      line({
        type: 'succeeded',
        message: {
          content: [
            { type: 'text', text: 'Here is my answer.' },
            { type: 'tool_use', id: 'toolu_1', name: 'answer', input: { viewpoint_ids: [3, 1] } },
          ],
        },
      }),
      ctx,
    );
    expect(recordOf(parsed)).toMatchObject({ outcome: 'succeeded', requestId: 4, rows: [[3], [1]] });
  });
  it('errored → the error type', () => {
    const parsed = parseAnthropicResultLine(
      line({
        type: 'errored',
        error: { type: 'error', error: { type: 'invalid_request_error', message: 'bad' } },
      }),
      ctx,
    );
    expect(recordOf(parsed)).toMatchObject({
      outcome: 'failed',
      errorCode: 'invalid_request_error',
      errorMessage: 'bad',
    });
  });
  it('canceled and expired', () => {
    expect(recordOf(parseAnthropicResultLine(line({ type: 'canceled' }), ctx)).errorCode).toBe(
      'batch_cancelled',
    );
    expect(recordOf(parseAnthropicResultLine(line({ type: 'expired' }), ctx)).errorCode).toBe(
      'batch_expired',
    );
  });
  it('unknown viewpoint in a succeeded message', () => {
    const parsed = parseAnthropicResultLine(
      line({ type: 'succeeded', message: { content: [{ type: 'text', text: '{"viewpoint_ids":[5]}' }] } }),
      ctx,
    );
    expect(recordOf(parsed).errorCode).toBe('unknown_viewpoint');
  });
});
