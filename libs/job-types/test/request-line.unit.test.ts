import { describe, expect, it } from 'vitest';
import { compileJobType, JobTypeError } from '../index.ts';
import { embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from './declarations.ts';

const sentiment = compileJobType(sentimentDeclaration(), 'test');
const embeddings = compileJobType(embeddingsDeclaration(), 'test');
const catalogue = [
  { key: 'positive', label: '  The reviewer\tis\n happy ' },
  { key: 'negative', label: 'Unhappy' },
];
const context = { model: 'gpt-4o-mini', catalogue };
const text = 'Great "value"; {{text}} stays text.\nÜnïcödé ✓';
const review = { id: 42, fields: { text } };
const responseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['label', 'score'],
  properties: { label: { type: 'string' }, score: { type: 'number', minimum: 0, maximum: 1 } },
};
/** The parts of request lines these tests look into. */
interface OpenAILine {
  body: {
    temperature?: number;
    max_completion_tokens?: number;
    response_format: { json_schema: { strict: boolean } };
    messages: unknown[];
  };
}
interface AnthropicLine {
  params: { max_tokens: number; temperature?: number; system?: string; messages: unknown[] };
}

const systemPrompt =
  'Label the sentiment of the review. Labels:\npositive: The reviewer is happy\nnegative: Unhappy';

describe('chat request lines', () => {
  it('OpenAI: the rendered messages and the response schema as strict json_schema', () => {
    expect(sentiment.requestLine('openai', review, context)).toEqual({
      custom_id: 'sent-42',
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'review_sentiment', schema: responseSchema, strict: true },
        },
        messages: [
          { role: 'system', content: systemPrompt },
          { role: 'user', content: text },
        ],
      },
    });
    expect(sentiment.batchEndpoint('openai')).toBe('/v1/chat/completions');
  });

  it('Anthropic: the system prompt apart, the answer as a forced tool call', () => {
    expect(sentiment.requestLine('anthropic', review, context)).toEqual({
      custom_id: 'sent-42',
      params: {
        model: 'gpt-4o-mini',
        max_tokens: 1024,
        system: systemPrompt,
        messages: [{ role: 'user', content: text }],
        tools: [{ name: 'answer', input_schema: responseSchema }],
        tool_choice: { type: 'tool', name: 'answer' },
      },
    });
    expect(sentiment.batchEndpoint('anthropic')).toBe('/v1/messages');
  });

  it('passes temperature and maxTokens, and strict only when the schema allows it', () => {
    const declaration = entitiesDeclaration();
    Object.assign(declaration.request, { temperature: 0.5, maxTokens: 300 });
    const entities = compileJobType(declaration, 'test');
    const input = { id: 7, fields: { text: 'Ada went to London.' } };
    const openai = entities.requestLine('openai', input, {
      model: 'm',
      catalogue: [],
    }) as unknown as OpenAILine;
    // `confidence` and `meta` are optional and `meta` is an open object: OpenAI's strict mode cannot take that.
    expect(openai.body.response_format.json_schema.strict).toBe(false);
    expect(openai.body.temperature).toBe(0.5);
    expect(openai.body.max_completion_tokens).toBe(300);
    expect(openai.body.messages).toEqual([
      { role: 'user', content: 'Entities of document 7:\nAda went to London.' },
    ]);
    const anthropic = entities.requestLine('anthropic', input, {
      model: 'm',
      catalogue: [],
    }) as unknown as AnthropicLine;
    expect(anthropic.params.max_tokens).toBe(300);
    expect(anthropic.params.temperature).toBe(0.5);
    expect(anthropic.params.system).toBeUndefined();
  });

  it('refuses a temperature Anthropic does not take', () => {
    const declaration = sentimentDeclaration();
    Object.assign(declaration.request, { temperature: 1.5 });
    const jobType = compileJobType(declaration, 'test');
    expect(() => jobType.requestLine('anthropic', review, context)).toThrow(
      /Anthropic takes 0 to 1, not 1\.5/,
    );
    expect((jobType.requestLine('openai', review, context) as unknown as OpenAILine).body.temperature).toBe(
      1.5,
    );
  });

  it('joins several system messages for Anthropic and keeps the conversation order', () => {
    const declaration = sentimentDeclaration();
    Object.assign(declaration.request, {
      messages: [
        { role: 'system', content: 'One.' },
        { role: 'user', content: 'Example: {{review_id}}' },
        { role: 'assistant', content: '{"label":"positive","score":1}' },
        { role: 'system', content: 'Two:\n{{catalogue}}' },
        { role: 'user', content: '{{text}}' },
      ],
    });
    const line = compileJobType(declaration, 'test').requestLine(
      'anthropic',
      review,
      context,
    ) as unknown as AnthropicLine;
    expect(line.params.system).toBe('One.\n\nTwo:\npositive: The reviewer is happy\nnegative: Unhappy');
    expect(line.params.messages).toEqual([
      { role: 'user', content: 'Example: 42' },
      { role: 'assistant', content: '{"label":"positive","score":1}' },
      { role: 'user', content: text },
    ]);
  });

  it('refuses a custom_id Anthropic does not take, which OpenAI does', () => {
    const declaration = sentimentDeclaration();
    declaration.results.columns.review_id = { from: '$id', type: 'text' };
    const jobType = compileJobType(declaration, 'test');
    for (const id of ['a.b', 'x'.repeat(60)]) {
      const input = { id, fields: { text } };
      expect(() => jobType.requestLine('anthropic', input, context)).toThrow(/cannot go to Anthropic/);
      expect(jobType.requestLine('openai', input, context).custom_id).toBe(`sent-${id}`);
    }
    expect(jobType.requestLine('anthropic', { id: 'a_b-1', fields: { text } }, context).custom_id).toBe(
      'sent-a_b-1',
    );
  });

  it('refuses an input record without a declared field', () => {
    expect(() => sentiment.requestLine('openai', { id: 1, fields: {} }, context)).toThrow(
      /has no field text/,
    );
  });
});

describe('embeddings request lines', () => {
  const doc = { id: 'doc-1.a', fields: { text: 'Battery lasts.' } };
  it('OpenAI: model, input and dimensions', () => {
    expect(embeddings.requestLine('openai', doc, { model: 'text-embedding-3-small', catalogue: [] })).toEqual(
      {
        custom_id: 'emb-doc-1.a',
        method: 'POST',
        url: '/v1/embeddings',
        body: { model: 'text-embedding-3-small', input: 'Battery lasts.', dimensions: 4 },
      },
    );
    expect(embeddings.batchEndpoint('openai')).toBe('/v1/embeddings');
  });
  it('leaves dimensions out when none are declared', () => {
    const declaration = embeddingsDeclaration();
    delete (declaration.request as { dimensions?: number }).dimensions;
    const line = compileJobType(declaration, 'test').requestLine('openai', doc, {
      model: 'm',
      catalogue: [],
    });
    expect(line.body).toEqual({ model: 'm', input: 'Battery lasts.' });
  });
  it('cannot go to Anthropic', () => {
    for (const attempt of [
      () => embeddings.requestLine('anthropic', doc, { model: 'm', catalogue: [] }),
      () => embeddings.batchEndpoint('anthropic'),
    ]) {
      expect(attempt).toThrow(JobTypeError);
      expect(attempt).toThrow(
        /requests \/v1\/embeddings, which Anthropic does not offer: submit it to openai/,
      );
    }
  });
});

describe('request ids', () => {
  it('integer ids: <prefix>-<positive safe integer>', () => {
    expect(sentiment.customIdFor(42)).toBe('sent-42');
    expect(sentiment.parseCustomId('sent-42')).toBe(42);
    expect(sentiment.parseCustomId('sent-9007199254740991')).toBe(9007199254740991);
    for (const bad of [
      'sent-0',
      'sent-042',
      'sent--1',
      'sent-1.5',
      'sent-',
      'rs-1',
      'SENT-1',
      'sent-1 ',
      'sent-9007199254740992',
      'sent-99999999999999999',
      'sent-abc',
    ]) {
      expect(sentiment.parseCustomId(bad)).toBeNull();
    }
    expect(sentiment.parseInputId(42)).toBe(42);
    for (const bad of [0, -1, 1.5, '42', null, undefined, 9007199254740992, Number.NaN, [1]]) {
      expect(sentiment.parseInputId(bad)).toBeNull();
    }
  });

  it('integer ids stop where the narrowest $id column does', () => {
    const declaration = sentimentDeclaration();
    declaration.results.columns.review_id = { from: '$id', type: 'integer' };
    const jobType = compileJobType(declaration, 'test');
    expect(jobType.parseInputId(2147483647)).toBe(2147483647);
    expect(jobType.parseInputId(2147483648)).toBeNull();
    expect(jobType.parseCustomId('sent-2147483648')).toBeNull();
  });

  it('string ids: 1-64 of [A-Za-z0-9_.-]', () => {
    expect(embeddings.customIdFor('a-b')).toBe('emb-a-b');
    expect(embeddings.parseCustomId('emb-a-b')).toBe('a-b');
    expect(embeddings.parseCustomId(`emb-${'x'.repeat(64)}`)).toBe('x'.repeat(64));
    for (const bad of [
      'emb-',
      `emb-${'x'.repeat(65)}`,
      'emb-a b',
      'emb-é',
      'emb-a;b',
      'emb-"x"',
      'sent-a',
      'emb',
    ]) {
      expect(embeddings.parseCustomId(bad)).toBeNull();
    }
    expect(embeddings.parseInputId('Doc_1.v2-final')).toBe('Doc_1.v2-final');
    expect(embeddings.parseInputId(17)).toBe('17');
    for (const bad of ['', 'a/b', 'ünï', 'x'.repeat(65), 0, -3, 1.5, null, {}]) {
      expect(embeddings.parseInputId(bad)).toBeNull();
    }
  });
});
