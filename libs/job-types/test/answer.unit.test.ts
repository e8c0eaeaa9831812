import { describe, expect, it } from 'vitest';
import { type AnswerCheck, compileJobType } from '../index.ts';
import { embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from './declarations.ts';

const sentiment = compileJobType(sentimentDeclaration(), 'test');
const entities = compileJobType(entitiesDeclaration(), 'test');
const embeddings = compileJobType(embeddingsDeclaration(), 'test');
const labels = new Set(['positive', 'negative', 'neutral', 'Robert"); DROP TABLE x;--']);
const isLabel = (key: string) => labels.has(key);
const noCatalogue = () => {
  throw new Error('no catalogue lookups expected');
};

const failed = (check: AnswerCheck) => {
  if (check.ok) throw new Error(`expected a failure, got rows ${JSON.stringify(check.rows)}`);
  return check;
};

describe('checkAnswer: one row per answer', () => {
  it('takes the value columns in order, from text or an already parsed object', () => {
    expect(sentiment.checkAnswer('{"label":"positive","score":0.9}', isLabel)).toEqual({
      ok: true,
      rows: [['positive', 0.9]],
    });
    expect(sentiment.checkAnswer({ score: 0, label: 'neutral' }, isLabel)).toEqual({
      ok: true,
      rows: [['neutral', 0]],
    });
  });

  it.each([
    ['prose', 'The review is positive.', 'message content is not JSON'],
    ['no content', null, 'the answer has no content'],
    ['a number', 7, 'message content is not a string'],
    ['an array', '["positive", 0.5]', 'the answer must be object'],
    ['a missing property', '{"label":"positive"}', "the answer must have required property 'score'"],
    ['an extra property', '{"label":"positive","score":1,"x":1}', 'must NOT have additional properties: "x"'],
    ['a score out of range', '{"label":"positive","score":1.5}', '/score must be <= 1'],
    ['a string score', '{"label":"positive","score":"0.5"}', '/score must be number'],
  ])('fails %s with invalid_content naming the JSON path', (_, content, message) => {
    const check = failed(sentiment.checkAnswer(content, isLabel));
    expect(check.code).toBe('invalid_content');
    expect(check.message).toContain(message);
  });

  it('fails an unknown catalogue value with the column error code, listing the values', () => {
    expect(sentiment.checkAnswer('{"label":"ecstatic","score":1}', isLabel)).toEqual({
      ok: false,
      code: 'unknown_label',
      message: 'label values not in sentiment_labels: ecstatic',
    });
  });

  it('compares hostile catalogue values as plain text', () => {
    const hostile = JSON.stringify({ label: 'Robert"); DROP TABLE x;--', score: 0.5 });
    expect(sentiment.checkAnswer(hostile, isLabel)).toEqual({
      ok: true,
      rows: [['Robert"); DROP TABLE x;--', 0.5]],
    });
  });

  it('refuses text Postgres cannot store', () => {
    expect(failed(sentiment.checkAnswer('{"label":"pos\\u0000itive","score":1}', isLabel)).code).toBe(
      'invalid_content',
    );
    expect(failed(sentiment.checkAnswer('{"label":"\\ud800","score":1}', isLabel)).message).toContain(
      '/label (column label) must be text without NUL characters',
    );
    expect(sentiment.checkAnswer('{"label":"neutral","score":1}', isLabel).ok).toBe(true);
  });

  it('never reaches the prototype of the parsed answer', () => {
    const open = sentimentDeclaration();
    const schema = open.request as { responseSchema: Record<string, unknown> };
    schema.responseSchema = { type: 'object' };
    open.results.columns = {
      review_id: { from: '$id', type: 'bigint' },
      ctor: { from: '/constructor', type: 'text' },
      proto: { from: '/__proto__', type: 'jsonb' },
    };
    const jobType = compileJobType(open, 'test');
    expect(jobType.checkAnswer('{}', noCatalogue)).toEqual({ ok: true, rows: [[null, null]] });
    expect(jobType.checkAnswer('{"__proto__": {"a": 1}}', noCatalogue)).toEqual({
      ok: true,
      rows: [[null, '{"a":1}']],
    });
  });
});

describe('checkAnswer: one row per element of each', () => {
  const answer = (list: unknown[]) => JSON.stringify({ entities: list });

  it('lands each element, missing values as null, jsonb as JSON text', () => {
    const check = entities.checkAnswer(
      answer([
        { name: 'Ada', kind: 'person', confidence: 0.5, meta: { born: 1815, note: 'ünïcode "quoted"' } },
        { name: 'London', kind: 'place' },
      ]),
      noCatalogue,
    );
    expect(check).toEqual({
      ok: true,
      rows: [
        ['Ada', 'person', 0.5, '{"born":1815,"note":"ünïcode \\"quoted\\""}'],
        ['London', 'place', null, null],
      ],
    });
  });

  it('lands none for an empty list, and collapses repeated keys to the first row', () => {
    expect(entities.checkAnswer(answer([]), noCatalogue)).toEqual({ ok: true, rows: [] });
    const check = entities.checkAnswer(
      answer([
        { name: 'Ada', kind: 'person' },
        { name: 'Ada', kind: 'place' },
      ]),
      noCatalogue,
    );
    expect(check).toEqual({ ok: true, rows: [['Ada', 'person', null, null]] });
  });

  it.each([
    ['an element of the wrong shape', [{ name: 'Ada' }], "/entities/0 must have required property 'kind'"],
    [
      'an enum miss',
      [{ name: 'Ada', kind: 'cat' }],
      '/entities/0/kind must be equal to one of the allowed values',
    ],
    ['a real out of range', [{ name: 'Ada', kind: 'person', confidence: 1e39 }], '/entities/0/confidence'],
    ['a real underflow', [{ name: 'Ada', kind: 'person', confidence: 1e-50 }], 'within the range of real'],
  ])('fails %s', (_, list, message) => {
    const check = failed(entities.checkAnswer(answer(list), noCatalogue));
    expect(check.code).toBe('invalid_content');
    expect(check.message).toContain(message);
  });

  it('fails a key value that is missing (null counts as missing)', () => {
    const open = entitiesDeclaration();
    const schema = open.request as { responseSchema: Record<string, unknown> };
    schema.responseSchema = { type: 'object', properties: { entities: { items: { type: 'object' } } } };
    const jobType = compileJobType(open, 'test');
    expect(failed(jobType.checkAnswer(answer([{ kind: 'person' }]), noCatalogue)).message).toBe(
      '/entities/0/name is missing, and column name is part of the key',
    );
    expect(failed(jobType.checkAnswer(answer([{ name: null }]), noCatalogue)).code).toBe('invalid_content');
    expect(failed(jobType.checkAnswer('{"entities": 3}', noCatalogue)).message).toBe(
      '/entities is not an array',
    );
    expect(failed(jobType.checkAnswer('{}', noCatalogue)).message).toBe('/entities is missing');
  });
});

describe('checkAnswer: column types', () => {
  const typed = (type: string, schema: Record<string, unknown> = {}) => {
    const declaration = sentimentDeclaration();
    (declaration.request as { responseSchema: unknown }).responseSchema = {
      type: 'object',
      properties: { v: schema },
    };
    declaration.results.columns = {
      review_id: { from: '$id', type: 'bigint' },
      v: { from: '/v', type } as never,
    };
    return compileJobType(declaration, 'test');
  };
  it.each([
    ['bigint', 9007199254740991, true],
    ['bigint', 9007199254740992, false],
    ['bigint', 1.5, false],
    ['integer', 2147483647, true],
    ['integer', 2147483648, false],
    ['smallint', -32768, true],
    ['smallint', 40000, false],
    ['numeric', 1e21, true],
    ['double precision', 1e300, true],
    ['double precision', '1', false],
    ['real', 3.4e38, true],
    ['real', 1e-45, true],
    ['real', 1e-46, false],
    ['real', 3.5e38, false],
    ['boolean', false, true],
    ['boolean', 'false', false],
    ['text', '', true],
    ['text', 12, false],
    ['jsonb', [1, { a: 'b' }], true],
    ['jsonb', { 'k\u0000': 1 }, false],
    ['real[]', [0.1, -2, 0], true],
    ['real[]', [0.1, 'x'], false],
    ['double precision[]', [], true],
    ['double precision[]', 'not a list', false],
  ])('%s takes %j: %s', (type, value, ok) => {
    expect(typed(type).checkAnswer(JSON.stringify({ v: value }), noCatalogue).ok).toBe(ok);
  });
});

describe('checkEmbedding', () => {
  const body = (embedding: unknown) => ({
    object: 'list',
    data: [{ object: 'embedding', index: 0, embedding }],
    model: 'text-embedding-3-small',
    usage: { prompt_tokens: 3, total_tokens: 3 },
  });
  it('takes the vector of the declared dimensions', () => {
    expect(embeddings.checkEmbedding(body([0.1, -0.2, 0.3, 0.4]))).toEqual({
      ok: true,
      rows: [[[0.1, -0.2, 0.3, 0.4]]],
    });
  });
  it.each([
    ['no data', { object: 'list' }, 'the response body has no "data" list'],
    ['not an object', 'x', 'the response body has no "data" list'],
    ['an empty list', { data: [] }, 'data[0].embedding is not a list of numbers'],
    ['a base64 vector', body('AAAA'), 'data[0].embedding is not a list of numbers'],
    ['other dimensions', body([0.1, 0.2]), 'data[0].embedding has 2 dimensions, not the 4 requested'],
    ['a non-number', body([0.1, null, 0.3, 0.4]), 'element 1 must be a number'],
  ])('fails %s with invalid_content', (_, response, message) => {
    const check = failed(embeddings.checkEmbedding(response));
    expect(check.code).toBe('invalid_content');
    expect(check.message).toContain(message);
  });
  it('takes any length when no dimensions are declared', () => {
    const declaration = embeddingsDeclaration();
    delete (declaration.request as { dimensions?: number }).dimensions;
    expect(compileJobType(declaration, 'test').checkEmbedding(body([1, 2])).ok).toBe(true);
  });
  it('is not how a chat job type is checked, nor the other way round', () => {
    expect(failed(sentiment.checkEmbedding(body([1]))).code).toBe('invalid_content');
    expect(failed(embeddings.checkAnswer('{}', noCatalogue)).code).toBe('invalid_content');
  });
});

describe('checkAnswer: answers nested without end', () => {
  const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  it('refuses jsonb nested deeper than Postgres takes', () => {
    const declaration = sentimentDeclaration();
    (declaration.request as { responseSchema: unknown }).responseSchema = { type: 'object' };
    declaration.results.columns = {
      review_id: { from: '$id', type: 'bigint' },
      doc: { from: '/a', type: 'jsonb' },
    };
    const jobType = compileJobType(declaration, 'test');
    expect(jobType.checkAnswer(nested(150), noCatalogue).ok).toBe(true);
    expect(failed(jobType.checkAnswer(nested(250), noCatalogue)).message).toContain(
      'nested at most 200 deep',
    );
  });

  it('fails an answer deeper than a recursive schema can be followed, rather than throwing', () => {
    const declaration = sentimentDeclaration();
    (declaration.request as { responseSchema: unknown }).responseSchema = {
      type: 'object',
      properties: { a: { $ref: '#' } },
    };
    declaration.results.columns = {
      review_id: { from: '$id', type: 'bigint' },
      a: { from: '/a', type: 'jsonb' },
    };
    const check = failed(compileJobType(declaration, 'test').checkAnswer(nested(100_000), noCatalogue));
    expect(check).toMatchObject({
      code: 'invalid_content',
      message: expect.stringContaining('could not be checked'),
    });
  });
});
