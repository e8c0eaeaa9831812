import { describe, expect, it } from 'vitest';
import { compileJobType, JobTypeError } from '../index.ts';
import { edited, embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from './declarations.ts';

const SOURCE = 'examples/x.yaml';

/** The JobTypeError a declaration fails with. */
function failure(declaration: unknown): JobTypeError {
  try {
    compileJobType(declaration, SOURCE);
  } catch (error) {
    if (error instanceof JobTypeError) return error;
    throw error;
  }
  throw new Error('the declaration compiled');
}

describe('compileJobType', () => {
  it('compiles the declarations of the tests', () => {
    for (const make of [sentimentDeclaration, embeddingsDeclaration, entitiesDeclaration]) {
      const jobType = compileJobType(make(), SOURCE);
      expect(jobType.name).toBe(make().name);
      expect(jobType.source).toBe(SOURCE);
    }
  });

  it('exposes the target table with quoted identifiers, id columns apart', () => {
    const { target, catalogue, endpoint } = compileJobType(entitiesDeclaration(), SOURCE);
    expect(endpoint).toBe('/v1/chat/completions');
    expect(catalogue).toBeNull();
    expect(target.name).toBe('analytics.document_entities');
    expect(target.quoted).toBe('"analytics"."document_entities"');
    expect(target.key).toEqual(['doc_id', 'name']);
    expect(target.idColumns.map((c) => [c.quoted, c.type, c.inKey])).toEqual([['"doc_id"', 'bigint', true]]);
    expect(target.valueColumns.map((c) => [c.name, c.from, c.inKey, c.referenceErrorCode])).toEqual([
      ['name', '$item/name', true, null],
      ['kind', '$item/kind', false, null],
      ['confidence', '$item/confidence', false, null],
      ['meta', '$item/meta', false, null],
    ]);
  });

  it('reads the catalogue with quoted identifiers and a default error code', () => {
    const jobType = compileJobType(
      edited(sentimentDeclaration, {
        catalogue: { table: 'ref.order', key: 'select', label: 'label' },
        'results.columns.label.errorCode': undefined,
      }),
      SOURCE,
    );
    expect(jobType.catalogue).toEqual({
      table: 'ref.order',
      selectSql: 'SELECT "select"::text AS key, "label"::text AS label FROM "ref"."order" ORDER BY "select"',
    });
    expect(jobType.target.valueColumns[0]!.referenceErrorCode).toBe('unknown_reference');
  });

  it('keeps the parsed declaration with its defaults', () => {
    const declaration = edited(sentimentDeclaration, {
      'input.fields': undefined,
      'request.messages': [{ role: 'user', content: 'Review {{review_id}}' }],
      catalogue: undefined,
      'results.columns.label': { from: '/label', type: 'text' },
    });
    expect(compileJobType(declaration, SOURCE).declaration.input.fields).toEqual([]);
  });
});

describe('invalid declarations: one line naming the file, the job type and the field', () => {
  const cases: [string, unknown, string][] = [
    ['not an object', 'review_sentiment', `${SOURCE}: expected object, received string`],
    ['no name', edited(sentimentDeclaration, { name: undefined }), `${SOURCE}: name: is required`],
    [
      'a bad name, shown quoted',
      edited(sentimentDeclaration, { name: 'Bad "name";\nDROP TABLE x' }),
      `${SOURCE}: job type "Bad \\"name\\";\\nDROP TABLE x": name: must be lower case`,
    ],
    [
      'an unknown field',
      edited(sentimentDeclaration, { extra: 1 }),
      `${SOURCE}: job type review_sentiment: unknown field extra`,
    ],
    [
      'an unknown endpoint',
      edited(sentimentDeclaration, { 'request.endpoint': '/v1/completions' }),
      'request.endpoint: must be one of /v1/chat/completions, /v1/embeddings',
    ],
    [
      'a bad column source',
      edited(sentimentDeclaration, { 'results.columns.label.from': 'label' }),
      'job type review_sentiment: results.columns.label.from: must be $id, $embedding, $item, $item/<pointer> or a JSON pointer',
    ],
    [
      'a column type outside the whitelist',
      edited(sentimentDeclaration, { 'results.columns.score.type': 'text); DROP TABLE x; --' }),
      'results.columns.score.type: Invalid option',
    ],
    [
      'a hostile column name',
      edited(sentimentDeclaration, { 'results.columns.x"; DROP TABLE y; --': { from: '/a', type: 'text' } }),
      'results.columns["x\\"; DROP TABLE y; --"]: this name must be a lower-case identifier',
    ],
    [
      'a hostile table name',
      edited(sentimentDeclaration, { 'results.table': 'public."x"' }),
      'results.table: must be a lower-case table name',
    ],
    [
      'an upper-case table name, which quoting would make a different table',
      edited(sentimentDeclaration, { 'results.table': 'Reviews' }),
      'results.table: must be a lower-case table name',
    ],
    [
      'a non-ASCII identifier',
      edited(sentimentDeclaration, { 'results.key': ['révision'] }),
      'results.key[0]: must be a lower-case identifier',
    ],
    [
      'a key column not declared',
      edited(sentimentDeclaration, { 'results.key': ['review_id', 'labels'] }),
      'results.key[1]: labels is not one of results.columns',
    ],
    [
      'a key column twice',
      edited(sentimentDeclaration, { 'results.key': ['review_id', 'review_id'] }),
      'results.key[1]: review_id is listed twice',
    ],
    [
      '$embedding in a chat job type',
      edited(sentimentDeclaration, { 'results.columns.vector': { from: '$embedding', type: 'real[]' } }),
      'results.columns.vector.from: $embedding needs request.endpoint /v1/embeddings',
    ],
    [
      '$embedding into a scalar',
      edited(embeddingsDeclaration, { 'results.columns.embedding.type': 'jsonb' }),
      'job type review_embeddings: results.columns.embedding.type: a $embedding column must be real[] or double precision[]',
    ],
    [
      'an embeddings job type without a vector column',
      edited(embeddingsDeclaration, { 'results.columns.embedding': undefined }),
      'results.columns: an /v1/embeddings job type needs a column from $embedding',
    ],
    [
      'a pointer in an embeddings job type',
      edited(embeddingsDeclaration, { 'results.columns.model': { from: '/model', type: 'text' } }),
      'results.columns.model.from: an embeddings answer has no JSON content',
    ],
    [
      'each in an embeddings job type',
      edited(embeddingsDeclaration, { 'results.each': '/data' }),
      'results.each: an embeddings answer has no array',
    ],
    [
      '$item without each',
      edited(sentimentDeclaration, { 'results.columns.label.from': '$item/label' }),
      'results.columns.label.from: $item/label needs results.each',
    ],
    [
      'references without a catalogue',
      edited(sentimentDeclaration, { catalogue: undefined, 'request.messages.0.content': 'Label it.' }),
      'results.columns.label.references: references the catalogue, but the job type declares none',
    ],
    [
      'references on a jsonb column',
      edited(sentimentDeclaration, { 'results.columns.label.type': 'jsonb' }),
      'results.columns.label.references: a jsonb column cannot reference the catalogue',
    ],
    [
      'an errorCode without references',
      edited(sentimentDeclaration, { 'results.columns.score.errorCode': 'bad_score' }),
      'results.columns.score.errorCode: applies only with references: catalogue',
    ],
    [
      'a boolean $id column',
      edited(sentimentDeclaration, { 'results.columns.review_id.type': 'boolean' }),
      'results.columns.review_id.type: a $id column must be bigint, integer, smallint or text',
    ],
    [
      '$id columns of both kinds',
      edited(sentimentDeclaration, { 'results.columns.review_key': { from: '$id', type: 'text' } }),
      'results.columns: the $id columns must all be integer columns or all text',
    ],
    [
      'a column batchline adds itself',
      edited(sentimentDeclaration, { 'results.columns.batch_log_id': { from: '/x', type: 'bigint' } }),
      'results.columns.batch_log_id: batchline adds batch_log_id to every target table itself',
    ],
    [
      "one of batchline's own tables",
      edited(sentimentDeclaration, { 'results.table': 'public.batch_jobs_vp_logs' }),
      "results.table: public.batch_jobs_vp_logs is one of batchline's own tables",
    ],
    [
      "specific_viewpoint's table",
      edited(sentimentDeclaration, { 'results.table': 'review_sentences_wl_spec_vp' }),
      "results.table: review_sentences_wl_spec_vp is one of batchline's own tables",
    ],
    [
      'the catalogue table as target',
      edited(sentimentDeclaration, { 'results.table': 'sentiment_labels' }),
      'results.table: is the catalogue table',
    ],
    [
      'an unknown placeholder',
      edited(sentimentDeclaration, { 'request.messages.1.content': 'Review: {{ body }}' }),
      'request.messages[1].content: {{body}} is not an input field (input.id or input.fields: review_id, text, catalogue)',
    ],
    [
      '{{catalogue}} without a catalogue',
      edited(entitiesDeclaration, { 'request.messages.0.content': '{{catalogue}} {{text}}' }),
      'request.messages[0].content: {{catalogue}} needs a catalogue',
    ],
    [
      'an unknown placeholder in the embeddings input',
      edited(embeddingsDeclaration, { 'request.input': '{{title}}: {{text}}' }),
      'request.input: {{title}} is not an input field',
    ],
    [
      'no user message',
      edited(sentimentDeclaration, { 'request.messages': [{ role: 'system', content: 'Label {{text}}' }] }),
      'request.messages: needs a message with role user',
    ],
    [
      'an input field named catalogue',
      edited(sentimentDeclaration, { 'input.fields': ['text', 'catalogue'] }),
      'input.fields[1]: "catalogue" is reserved for {{catalogue}}',
    ],
    [
      'an input field twice',
      edited(sentimentDeclaration, { 'input.fields': ['text', 'text'] }),
      'input.fields[1]: text is listed twice',
    ],
    [
      'the id among the fields',
      edited(sentimentDeclaration, { 'input.fields': ['text', 'review_id'] }),
      'input.fields[1]: review_id is already input.id',
    ],
    [
      'a response schema that is not an object',
      edited(sentimentDeclaration, { 'request.responseSchema': { type: 'array' } }),
      'request.responseSchema.type: the answer must be a JSON object',
    ],
    [
      'a response schema that does not compile',
      edited(sentimentDeclaration, { 'request.responseSchema.properties.score.minimum': 'zero' }),
      'request.responseSchema: is not a usable JSON Schema: schema is invalid: data/properties/score/minimum must be number',
    ],
    [
      'a response schema with an unknown keyword',
      edited(sentimentDeclaration, { 'request.responseSchema.properties.score.minimun': 0 }),
      'request.responseSchema: is not a usable JSON Schema: strict mode: unknown keyword: "minimun"',
    ],
    [
      'a response schema with an unknown format',
      edited(sentimentDeclaration, { 'request.responseSchema.properties.label.format': 'colour' }),
      'unknown format "colour"',
    ],
    [
      'a pointer the response schema closes out',
      edited(sentimentDeclaration, { 'results.columns.score.from': '/scores' }),
      'results.columns.score.from: /scores cannot exist in the response schema',
    ],
    [
      'a pointer below a scalar',
      edited(sentimentDeclaration, { 'results.columns.score.from': '/score/value' }),
      'results.columns.score.from: /score/value cannot exist in the response schema',
    ],
    [
      'each pointing at a non-array',
      edited(entitiesDeclaration, { 'request.responseSchema.properties.entities': { type: 'object' } }),
      'job type entities: results.each: /entities is not an array in the response schema',
    ],
    [
      'an item pointer the item schema closes out',
      edited(entitiesDeclaration, { 'results.columns.kind.from': '$item/type' }),
      'results.columns.kind.from: /type cannot exist in the elements of /entities',
    ],
    [
      'a bad custom id prefix',
      edited(sentimentDeclaration, { customIdPrefix: 'se-nt' }),
      'customIdPrefix: must be 1-16 letters',
    ],
    [
      'a retry policy listing invalid_custom_id',
      edited(sentimentDeclaration, { retry: { codes: ['http_5xx', 'invalid_custom_id'] } }),
      'retry.codes[1]: "invalid_custom_id" is never retryable',
    ],
    [
      'a retry code that is no code',
      edited(sentimentDeclaration, { retry: { codes: ['HTTP 500'] } }),
      'retry.codes[0]: "HTTP 500" is not an error code',
    ],
    ['negative retry rounds', edited(sentimentDeclaration, { retry: { maxRounds: -1 } }), 'retry.maxRounds'],
  ];
  it.each(cases)('%s', (_, declaration, expected) => {
    const error = failure(declaration);
    expect(error.code).toBe('invalid_declaration');
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain('\n');
    expect(error.message.startsWith(`${SOURCE}: `)).toBe(true);
  });

  it("keeps the declaration's retry fields as the part of the policy it overrides", () => {
    expect(compileJobType(sentimentDeclaration(), SOURCE).retry).toEqual({});
    const declared = edited(sentimentDeclaration, { retry: { codes: ['http_5xx'], delaySeconds: 5 } });
    expect(compileJobType(declared, SOURCE).retry).toEqual({ codes: ['http_5xx'], delayMs: 5000 });
  });

  it('counts the further problems zod found', () => {
    const message = failure({ name: 'x' }).message;
    expect(message).toMatch(/^examples\/x\.yaml: job type x: input: is required \(and 3 more problems\)$/);
  });

  it('accepts pointers the response schema leaves open', () => {
    const open = edited(sentimentDeclaration, {
      'request.responseSchema.additionalProperties': true,
      'results.columns.extra': { from: '/extra/deep', type: 'jsonb' },
    });
    expect(compileJobType(open, SOURCE).target.valueColumns.map((c) => c.name)).toContain('extra');
    const combined = edited(sentimentDeclaration, {
      'request.responseSchema': { type: 'object', anyOf: [{ required: ['label'] }, { required: ['score'] }] },
    });
    expect(() => compileJobType(combined, SOURCE)).not.toThrow();
  });
});
