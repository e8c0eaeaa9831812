import { compileJobType } from '@batchline/job-types';
import { embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import {
  type LineContext,
  type ParsedLine,
  parseAnthropicResultLine,
  parseOpenAIResultLine,
  type ResultRecord,
} from '../index.ts';

/** The shared test declarations, compiled as a service compiles them at start. */
const sentiment = compileJobType(sentimentDeclaration(), 'sentiment.test.yaml');
const embeddings = compileJobType(embeddingsDeclaration(), 'embeddings.test.yaml');

/** One row per element of `/entities`, string ids, a reference with the default error code. */
const entitiesBase = entitiesDeclaration();
const entities = compileJobType(
  {
    ...entitiesBase,
    catalogue: { table: 'entity_kinds', key: 'kind', label: 'description' },
    results: {
      ...entitiesBase.results,
      columns: {
        ...entitiesBase.results.columns,
        doc_id: { from: '$id', type: 'text' },
        kind: { from: '$item/kind', type: 'text', references: 'catalogue' },
      },
    },
  },
  'entities.test.json',
);

const catalogue = new Set(['positive', 'negative', 'neutral', 'place']);
const ctxOf = (jobType: LineContext['jobType'], file: LineContext['file'] = 'output'): LineContext => ({
  file,
  line: 3,
  jobType,
  isCatalogueKey: (key) => catalogue.has(key),
});

const recordOf = (parsed: ParsedLine): ResultRecord => {
  if (parsed.kind !== 'record') throw new Error(`expected a record, got ${parsed.kind}`);
  return parsed.record;
};

const chatLine = (customId: string, content: string | null) =>
  JSON.stringify({
    id: 'batch_req_1',
    custom_id: customId,
    response: {
      status_code: 200,
      body: {
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 40, completion_tokens: 12 },
      },
    },
    error: null,
  });

const embeddingLine = (customId: string, embedding: unknown) =>
  JSON.stringify({
    id: 'batch_req_2',
    custom_id: customId,
    response: {
      status_code: 200,
      body: {
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding }],
        model: 'text-embedding-3-small',
        usage: { prompt_tokens: 7, total_tokens: 7 },
      },
    },
    error: null,
  });

describe('result lines of a chat job type with a response schema and a catalogue', () => {
  const parse = (line: string) => recordOf(parseOpenAIResultLine(line, ctxOf(sentiment)));

  it('lands the value columns in declaration order, the id from the custom id', () => {
    expect(parse(chatLine('sent-42', '{"label":"positive","score":0.875}'))).toEqual({
      customId: 'sent-42',
      requestId: 42,
      outcome: 'succeeded',
      rows: [['positive', 0.875]],
      errorCode: null,
      errorMessage: null,
      promptTokens: 40,
      completionTokens: 12,
    });
  });

  it('a schema violation is invalid_content naming the JSON path', () => {
    const record = parse(chatLine('sent-42', '{"label":"positive","score":1.5}'));
    expect(record).toMatchObject({ outcome: 'failed', errorCode: 'invalid_content', rows: [] });
    expect(record.errorMessage).toContain('/score');
  });

  it.each([
    ['prose', 'mostly positive'],
    ['a missing property', '{"label":"positive"}'],
    ['an extra property', '{"label":"positive","score":0.5,"why":"x"}'],
    ['no content (a refusal)', null],
  ])('%s → invalid_content', (_label, content) => {
    expect(parse(chatLine('sent-1', content as string))).toMatchObject({ errorCode: 'invalid_content' });
  });

  it('a label not in the catalogue fails with the column’s error code', () => {
    const record = parse(chatLine('sent-7', '{"label":"ecstatic","score":0.9}'));
    expect(record).toMatchObject({ outcome: 'failed', errorCode: 'unknown_label', rows: [], requestId: 7 });
    expect(record.errorMessage).toContain('ecstatic');
  });

  it('a custom id of another job type is invalid_custom_id, naming this one’s form', () => {
    expect(parse(chatLine('rs-7', '{"label":"positive","score":0.9}'))).toMatchObject({
      requestId: null,
      errorCode: 'invalid_custom_id',
      errorMessage: 'custom_id "rs-7" is not of the form sent-<id>',
    });
  });

  it('keeps the precedence of §4: the line’s error and a non-200 status before the content', () => {
    const errored = JSON.stringify({
      custom_id: 'sent-3',
      response: null,
      error: { code: 'server_error', message: 'boom' },
    });
    expect(parse(errored)).toMatchObject({ errorCode: 'server_error', errorMessage: 'boom' });
    const refused = JSON.stringify({
      custom_id: 'sent-3',
      response: { status_code: 400, body: { error: { message: 'bad schema' } } },
      error: null,
    });
    expect(parse(refused)).toMatchObject({ errorCode: 'http_400', errorMessage: 'bad schema' });
  });
});

describe('result lines of a job type with `each`', () => {
  const parse = (line: string) => recordOf(parseOpenAIResultLine(line, ctxOf(entities)));

  it('lands one row per element, string ids and all', () => {
    const content = JSON.stringify({
      entities: [
        { name: 'Lyon', kind: 'place', confidence: 0.5, meta: { population: 522000 } },
        { name: 'Paris', kind: 'place', confidence: 1, meta: {} },
      ],
    });
    expect(parse(chatLine('ent-doc_1.a', content))).toMatchObject({
      requestId: 'doc_1.a',
      outcome: 'succeeded',
      rows: [
        // A jsonb value travels as its JSON text.
        ['Lyon', 'place', 0.5, '{"population":522000}'],
        ['Paris', 'place', 1, '{}'],
      ],
    });
  });

  it('an empty array succeeds with no rows', () => {
    expect(parse(chatLine('ent-x', '{"entities":[]}'))).toMatchObject({ outcome: 'succeeded', rows: [] });
  });

  it('one unknown reference fails the request with the default code, landing none of its rows', () => {
    const content = JSON.stringify({
      entities: [
        { name: 'Paris', kind: 'place' },
        { name: 'Bob', kind: 'person' },
      ],
    });
    expect(parse(chatLine('ent-x', content))).toMatchObject({
      outcome: 'failed',
      errorCode: 'unknown_reference',
      rows: [],
    });
  });
});

describe('result lines of an embeddings job type', () => {
  const parse = (line: string) => recordOf(parseOpenAIResultLine(line, ctxOf(embeddings)));

  it('lands the vector from the response body', () => {
    expect(parse(embeddingLine('emb-a1', [0.25, -0.5, 0.125, 1]))).toEqual({
      customId: 'emb-a1',
      requestId: 'a1',
      outcome: 'succeeded',
      rows: [[[0.25, -0.5, 0.125, 1]]],
      errorCode: null,
      errorMessage: null,
      promptTokens: 7,
      completionTokens: null,
    });
  });

  it.each([
    ['of the wrong dimension', [0.1, 0.2]],
    ['holding a string', [0.1, 'x', 0.3, 0.4]],
    ['missing', undefined],
  ])('a vector %s is invalid_content', (_label, embedding) => {
    expect(parse(embeddingLine('emb-a1', embedding))).toMatchObject({
      outcome: 'failed',
      errorCode: 'invalid_content',
      rows: [],
    });
  });
});

describe('Anthropic result lines of a job type with a response schema', () => {
  const parse = (result: unknown, customId = 'sent-5') =>
    recordOf(
      parseAnthropicResultLine(JSON.stringify({ custom_id: customId, result }), ctxOf(sentiment, 'results')),
    );

  it('takes the answer from the tool_use block’s input', () => {
    const record = parse({
      type: 'succeeded',
      message: {
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'answer', input: { label: 'negative', score: 0.25 } },
        ],
        usage: { input_tokens: 30, output_tokens: 8 },
      },
    });
    expect(record).toMatchObject({
      requestId: 5,
      outcome: 'succeeded',
      rows: [['negative', 0.25]],
      promptTokens: 30,
      completionTokens: 8,
    });
  });

  it('falls back to the first text block', () => {
    const record = parse({
      type: 'succeeded',
      message: { content: [{ type: 'text', text: '{"label":"neutral","score":0.5}' }] },
    });
    expect(record).toMatchObject({ outcome: 'succeeded', rows: [['neutral', 0.5]] });
  });

  it('checks the tool input against the schema and the catalogue', () => {
    const tool = (input: unknown) => ({
      type: 'succeeded',
      message: { content: [{ type: 'tool_use', id: 't', name: 'answer', input }] },
    });
    expect(parse(tool({ label: 'neutral', score: -1 }))).toMatchObject({ errorCode: 'invalid_content' });
    expect(parse(tool({ label: 'meh', score: 0.1 }))).toMatchObject({ errorCode: 'unknown_label' });
  });

  it('errored, canceled and expired results keep their codes', () => {
    expect(
      parse({
        type: 'errored',
        error: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } },
      }),
    ).toMatchObject({ errorCode: 'overloaded_error', requestId: 5 });
    expect(parse({ type: 'canceled' })).toMatchObject({ errorCode: 'batch_cancelled' });
    expect(parse({ type: 'expired' })).toMatchObject({ errorCode: 'batch_expired' });
  });
});
