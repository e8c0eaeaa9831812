import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { jobTypeJsonSchema } from '../src/json-schema.ts';
import { embeddingsDeclaration, entitiesDeclaration, sentimentDeclaration } from './declarations.ts';

const SCHEMA_FILE = new URL('../job-type.schema.json', import.meta.url);
const BUILT_IN = new URL('../built-in/specific_viewpoint.json', import.meta.url);

describe('job-type.schema.json', () => {
  it('is the JSON Schema generated from the zod schema (UPDATE_JOB_TYPE_SCHEMA=1 regenerates it)', () => {
    const generated = jobTypeJsonSchema();
    if (process.env.UPDATE_JOB_TYPE_SCHEMA === '1') {
      writeFileSync(SCHEMA_FILE, `${JSON.stringify(generated, null, 2)}\n`);
    }
    const checkedIn: unknown = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
    expect(
      checkedIn,
      'stale: regenerate with UPDATE_JOB_TYPE_SCHEMA=1 npx vitest run libs/job-types/test/json-schema.unit.test.ts, then npx biome check --write libs/job-types',
    ).toEqual(generated);
  });

  it('accepts what batchline accepts and refuses what it refuses', () => {
    const validate = new Ajv2020({ strict: false }).compile(jobTypeJsonSchema());
    const builtIn: unknown = JSON.parse(readFileSync(BUILT_IN, 'utf8'));
    for (const declaration of [
      builtIn,
      sentimentDeclaration(),
      embeddingsDeclaration(),
      entitiesDeclaration(),
    ]) {
      expect(validate(declaration), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(validate([sentimentDeclaration(), embeddingsDeclaration()])).toBe(true);
    expect(validate([])).toBe(false);
    expect(validate({ ...sentimentDeclaration(), extra: 1 })).toBe(false);
    expect(validate({ ...sentimentDeclaration(), name: 'Bad Name' })).toBe(false);
    const badColumn = sentimentDeclaration();
    badColumn.results.columns.label = { from: 'label', type: 'text' };
    expect(validate(badColumn)).toBe(false);
  });
});
