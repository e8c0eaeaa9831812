import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInJobTypes, type JobType, loadJobTypes } from '@batchline/job-types';
import { afterAll, describe, expect, it } from 'vitest';
import { type BatchRequestLine, expectedRequestOutcome, type LineFault } from '../index.ts';
import { CATALOGUE } from './fixtures.ts';

/** Entity extraction: one row per entity, each entity's kind a catalogue key (`$item/kind`). */
const ENTITIES_DECLARATION = {
  name: 'review_entities',
  input: { id: 'review_id', fields: ['text'] },
  customIdPrefix: 'ent',
  request: {
    endpoint: '/v1/chat/completions',
    messages: [
      { role: 'system', content: 'Extract the entities. Kinds:\n{{ catalogue }}\nAnswer in JSON.' },
      { role: 'user', content: '{{text}}' },
    ],
    responseSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['entities'],
      properties: {
        entities: {
          type: 'array',
          minItems: 1,
          maxItems: 3,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'kind', 'confidence'],
            properties: {
              name: { type: 'string', maxLength: 40 },
              kind: { type: 'string' },
              confidence: { type: 'integer', minimum: 1, maximum: 5 },
            },
          },
        },
      },
    },
  },
  catalogue: { table: 'entity_kinds', key: 'kind', label: 'description' },
  results: {
    table: 'review_entities',
    each: '/entities',
    columns: {
      review_id: { from: '$id', type: 'bigint' },
      name: { from: '$item/name', type: 'text' },
      kind: { from: '$item/kind', type: 'text', references: 'catalogue', errorCode: 'unknown_kind' },
      confidence: { from: '$item/confidence', type: 'integer' },
    },
    key: ['review_id', 'name'],
  },
};
const KINDS = [
  { key: 'product', label: 'A product or its parts' },
  { key: 'shop', label: 'A shop or seller' },
];
const folder = mkdtempSync(join(tmpdir(), 'emulator-oracle-'));
writeFileSync(join(folder, 'entities.json'), JSON.stringify(ENTITIES_DECLARATION));
const jobTypes = loadJobTypes(folder);
const entities: JobType = jobTypes.named('review_entities');
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const line = (id: number | string, text: string): BatchRequestLine =>
  entities.requestLine(
    'openai',
    { id: id as number, fields: { text } },
    { model: 'm', catalogue: KINDS },
  ) as unknown as BatchRequestLine;

describe('the oracle of one request (expectedRequestOutcome)', () => {
  it('lands one row per element of `each`, kinds from the catalogue in the prompt', () => {
    for (let id = 1; id <= 40; id += 1) {
      const outcome = expectedRequestOutcome(line(id, 'The seller shipped a broken product'), { jobTypes });
      expect(outcome).toMatchObject({ outcome: 'succeeded', jobType: 'review_entities', requestId: id });
      if (outcome.outcome !== 'succeeded') continue;
      expect(outcome.rows.length).toBeGreaterThanOrEqual(1);
      expect(outcome.rows.length).toBeLessThanOrEqual(3);
      for (const [name, kind, confidence] of outcome.rows) {
        expect(typeof name).toBe('string');
        expect(['product', 'shop']).toContain(kind);
        expect(confidence).toBeGreaterThanOrEqual(1);
        expect(confidence).toBeLessThanOrEqual(5);
      }
    }
  });

  it('fails spoiled answers with invalid_content and the column’s own error code', () => {
    const answerShares = { byJobType: { review_entities: { invalid: 0.3, unknownReference: 0.3 } } };
    const codes = Array.from({ length: 100 }, (_, i) => {
      const outcome = expectedRequestOutcome(line(i + 1, 'A shop'), { jobTypes, answerShares });
      return outcome.outcome === 'succeeded' ? 'succeeded' : outcome.errorCode;
    });
    expect(new Set(codes)).toEqual(new Set(['succeeded', 'invalid_content', 'unknown_kind']));
    // Deterministic: the same requests are spoiled the same way.
    expect(
      Array.from({ length: 100 }, (_, i) => {
        const outcome = expectedRequestOutcome(line(i + 1, 'A shop'), { jobTypes, answerShares });
        return outcome.outcome === 'succeeded' ? 'succeeded' : outcome.errorCode;
      }),
    ).toEqual(codes);
  });

  it('knows malformed custom ids and line faults, as a batch would serve them', () => {
    const bad = { ...line(1, 'x'), custom_id: 'ent-abc' };
    expect(expectedRequestOutcome(bad, { jobTypes })).toEqual({
      customId: 'ent-abc',
      outcome: 'failed',
      errorCode: 'invalid_custom_id',
    });
    const faults: Record<string, LineFault> = {
      'ent-1': { kind: 'http', status: 429 },
      'ent-2': { kind: 'content', content: '{"entities": [{"name": "x", "kind": "shop", "confidence": 2}]}' },
      'ent-3': { kind: 'omit' },
    };
    const lineFaults = (customId: string) => faults[customId];
    const outcomes = [1, 2, 3].map((id) => expectedRequestOutcome(line(id, 'x'), { jobTypes, lineFaults }));
    expect(outcomes.map((o) => (o.outcome === 'succeeded' ? o.rows : o.errorCode))).toEqual([
      'http_429',
      [['x', 'shop', 2]],
      'missing_result',
    ]);
  });

  it('answers an Anthropic request of the built-in job type as the viewpoint classifier would', () => {
    const viewpoints = CATALOGUE.map((v) => ({ key: String(v.id), label: v.name }));
    const request = builtInJobTypes().default.requestLine(
      'anthropic',
      { id: 7, fields: { text: 'Bright screen, fair price.' } },
      { model: 'claude', catalogue: viewpoints },
    ) as { custom_id: string; params: Record<string, unknown> };
    expect(expectedRequestOutcome(request)).toMatchObject({
      customId: 'rs-7',
      outcome: 'succeeded',
      requestId: 7,
      rows: [[12], [13]],
      viewpointIds: [12, 13],
    });
  });
});
