import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { catalogueMatcher } from '../index.ts';
import { seededRandom } from '../src/random.ts';
import { type AnswerSource, type Schema, schemaAnswer, schemaViolation } from '../src/schema-answer.ts';

// Formats are checked by hand below (ajv-formats is not a dependency).
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

interface RichAnswer {
  label: string;
  when: string;
  detail: { items: Array<{ name: string }> };
}

const LABELS = [
  { key: 'positive', label: 'The reviewer is pleased' },
  { key: 'negative', label: 'The reviewer complains' },
  { key: 'neutral', label: 'Neither pleased nor complaining' },
];

/** Every construct the generator claims to honour, nested. */
const RICH: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['label', 'score', 'stars', 'tags', 'flags', 'detail', 'when', 'note'],
  properties: {
    label: { type: 'string' },
    score: { type: 'number', minimum: 0, maximum: 1 },
    stars: { type: 'integer', minimum: 1, maximum: 5 },
    tags: {
      type: 'array',
      minItems: 2,
      maxItems: 4,
      uniqueItems: true,
      items: { enum: ['a', 'b', 'c', 'd'] },
    },
    flags: { type: 'array', items: { type: 'boolean' }, maxItems: 0 },
    detail: { $ref: '#/$defs/detail' },
    when: { type: 'string', format: 'date-time' },
    note: { anyOf: [{ type: 'null' }, { type: 'string', minLength: 20, maxLength: 25 }] },
  },
  $defs: {
    detail: {
      type: 'object',
      required: ['kind', 'weight', 'items'],
      properties: {
        kind: { const: 'aspect' },
        weight: { type: 'number', exclusiveMinimum: -1, exclusiveMaximum: -0.5 },
        items: {
          type: 'array',
          minItems: 1,
          items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        },
      },
    },
  },
};

const source = (seed: number, overrides: Partial<AnswerSource> = {}): AnswerSource => ({
  catalogue: LABELS,
  named: [],
  references: [['label'], ['detail', 'items', '*', 'name']],
  random: seededRandom(seed),
  unknownReference: false,
  ...overrides,
});

describe('schemaAnswer', () => {
  const validate = ajv.compile(RICH);

  it('satisfies the schema, whatever the seed, with catalogue keys where the answer references them', () => {
    for (let seed = 0; seed < 200; seed += 1) {
      const answer = schemaAnswer(RICH, source(seed)) as RichAnswer;
      expect(validate(answer), JSON.stringify(validate.errors)).toBe(true);
      expect(LABELS.map((l) => l.key)).toContain(answer.label);
      expect(new Date(answer.when).toISOString()).toBe(answer.when);
      for (const item of answer.detail.items) expect(LABELS.map((l) => l.key)).toContain(item.name);
    }
  });

  it('is deterministic: the same source gives the same answer', () => {
    expect(schemaAnswer(RICH, source(7))).toEqual(schemaAnswer(RICH, source(7)));
    expect(schemaAnswer(RICH, source(7))).not.toEqual(schemaAnswer(RICH, source(8)));
  });

  it('answers a scalar reference with the first key the text names', () => {
    const named = catalogueMatcher(LABELS)('I complain about everything');
    expect(named).toEqual(['negative', 'neutral']);
    for (let seed = 0; seed < 20; seed += 1) {
      expect((schemaAnswer(RICH, source(seed, { named })) as { label: string }).label).toBe('negative');
    }
  });

  it('answers an array of references with the keys the text names, typed by the items (the viewpoint answer)', () => {
    const schema: Schema = {
      type: 'object',
      required: ['viewpoint_ids'],
      properties: {
        viewpoint_ids: { type: 'array', maxItems: 1000, items: { type: 'integer', minimum: 1 } },
      },
    };
    const viewpoints = [
      { key: '11', label: 'Battery life' },
      { key: '12', label: 'Screen quality' },
      { key: '13', label: 'Price' },
    ];
    const named = catalogueMatcher(viewpoints)('Bright screen, fair price.');
    const answer = schemaAnswer(schema, {
      catalogue: viewpoints,
      named,
      references: [['viewpoint_ids', '*']],
      random: seededRandom(1),
      unknownReference: false,
    });
    expect(JSON.stringify(answer)).toBe('{"viewpoint_ids":[12,13]}');
    const none = schemaAnswer(schema, {
      ...source(1),
      catalogue: viewpoints,
      references: [['viewpoint_ids', '*']],
    });
    expect(none).toEqual({ viewpoint_ids: [] });
  });

  it('tops an array of references up to minItems and cuts it at maxItems', () => {
    const schema: Schema = {
      type: 'object',
      properties: { labels: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'string' } } },
    };
    const refs = { references: [['labels', '*']] as string[][] };
    const few = schemaAnswer(schema, source(3, { ...refs, named: ['neutral'] })) as { labels: string[] };
    expect(few.labels).toHaveLength(2);
    expect(few.labels[0]).toBe('neutral');
    expect(new Set(few.labels).size).toBe(2);
    const many = schemaAnswer(schema, source(3, { ...refs, named: ['positive', 'negative', 'neutral'] }));
    expect(many).toEqual({ labels: ['positive', 'negative'] });
  });

  it('puts a key the catalogue lacks at the first reference of an unknown-reference answer, and only there', () => {
    for (let seed = 0; seed < 50; seed += 1) {
      const answer = schemaAnswer(RICH, source(seed, { unknownReference: true })) as RichAnswer;
      expect(validate(answer)).toBe(true);
      expect(LABELS.map((l) => l.key)).not.toContain(answer.label);
      for (const item of answer.detail.items) expect(LABELS.map((l) => l.key)).toContain(item.name);
    }
    const integers: Schema = {
      type: 'object',
      properties: { ids: { type: 'array', items: { type: 'integer' } } },
    };
    const answer = schemaAnswer(integers, {
      catalogue: [{ key: '5', label: 'x' }],
      named: [],
      references: [['ids', '*']],
      random: seededRandom(2),
      unknownReference: true,
    }) as { ids: number[] };
    expect(answer.ids).toHaveLength(1);
    expect(answer.ids[0]).toBeGreaterThan(5);
  });

  it('answers a reference into an empty catalogue with an unknown key', () => {
    const answer = schemaAnswer(RICH, source(1, { catalogue: [] })) as { label: string };
    expect(answer.label).toMatch(/^unknown_/);
  });
});

describe('schemaViolation', () => {
  it('breaks the schema while staying JSON', () => {
    const validate = ajv.compile(RICH);
    for (let seed = 0; seed < 20; seed += 1) {
      const violation = schemaViolation(RICH, schemaAnswer(RICH, source(seed)));
      expect(violation).not.toBeNull();
      expect(validate(violation)).toBe(false);
    }
    const noRequired: Schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(ajv.validate(noRequired, schemaViolation(noRequired, { a: 'x' }))).toBe(false);
    expect(ajv.validate({ type: 'array' }, schemaViolation({ type: 'array' }, []))).toBe(false);
  });

  it('gives null for a schema that accepts anything (only prose breaks it)', () => {
    expect(schemaViolation({}, 'anything')).toBeNull();
  });
});
