import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DeclarationProblem, type FieldPath } from './declaration-error.ts';
import { pointerTokens } from './json-pointer.ts';

/** `responseSchema`: compiled once into an ajv validator (JSON Schema 2020-12, formats checked). */

type SchemaObject = Record<string, unknown>;

const isObject = (value: unknown): value is SchemaObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export function compileResponseSchema(schema: SchemaObject, path: FieldPath): ValidateFunction {
  if (schema.type !== 'object') {
    throw new DeclarationProblem(
      [...path, 'type'],
      'the answer must be a JSON object ("type": "object"), as both providers require of structured output',
    );
  }
  // One validator per job type: schemas with the same $id in two job types must not meet in a shared cache.
  const ajv = new Ajv2020({
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    logger: false,
  });
  addFormats.default(ajv);
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new DeclarationProblem(path, `is not a usable JSON Schema: ${(error as Error).message}`);
  }
}

/** The first reason the answer does not satisfy the schema, naming where in the answer. */
export function schemaViolation(errors: readonly ErrorObject[] | null | undefined): string {
  const error = errors?.[0];
  if (!error) return 'the answer does not satisfy the response schema';
  const at = error.instancePath === '' ? 'the answer' : error.instancePath.slice(0, 120);
  let detail = error.message ?? 'is not valid';
  if (error.keyword === 'additionalProperties') {
    detail += `: ${JSON.stringify(String(error.params.additionalProperty).slice(0, 60))}`;
  } else if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues)) {
    detail += `: ${JSON.stringify(error.params.allowedValues).slice(0, 120)}`;
  }
  return `${at} ${detail} (response schema ${error.schemaPath.slice(0, 120)})`;
}

/** Where the schema nests further schemas. */
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SUBSCHEMA_LISTS = ['prefixItems', 'anyOf', 'oneOf', 'allOf'];
const SUBSCHEMAS = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains'];

function* subschemas(schema: SchemaObject): Generator<SchemaObject> {
  for (const key of SUBSCHEMA_MAPS) {
    if (isObject(schema[key])) for (const sub of Object.values(schema[key])) if (isObject(sub)) yield sub;
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) for (const sub of list) if (isObject(sub)) yield sub;
  }
  for (const key of SUBSCHEMAS) if (isObject(schema[key])) yield schema[key];
}

const types = (schema: SchemaObject): string[] =>
  typeof schema.type === 'string'
    ? [schema.type]
    : Array.isArray(schema.type)
      ? schema.type.filter((t): t is string => typeof t === 'string')
      : [];

/**
 * Whether OpenAI's strict structured output can take the schema: every object closes its properties
 * (`additionalProperties: false`) and requires all of them.
 */
export function allowsStrictMode(schema: SchemaObject): boolean {
  const isObjectSchema = types(schema).includes('object') || isObject(schema.properties);
  if (isObjectSchema) {
    if (schema.additionalProperties !== false) return false;
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const properties = isObject(schema.properties) ? Object.keys(schema.properties) : [];
    if (!properties.every((name) => required.has(name))) return false;
  }
  for (const sub of subschemas(schema)) if (!allowsStrictMode(sub)) return false;
  return true;
}

/** What the schema says about the value at a pointer: its subschema, nothing checkable, or that it cannot exist. */
type Lookup = { kind: 'schema'; schema: SchemaObject } | { kind: 'unchecked' } | { kind: 'missing' };

const COMBINATORS = ['$ref', '$dynamicRef', 'anyOf', 'oneOf', 'allOf', 'if', 'patternProperties'];
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function schemaAt(root: SchemaObject, tokens: readonly string[]): Lookup {
  let current = root;
  for (const token of tokens) {
    if (COMBINATORS.some((key) => key in current)) return { kind: 'unchecked' };
    const properties = isObject(current.properties) ? current.properties : null;
    const kinds = types(current);
    const next = properties && Object.hasOwn(properties, token) ? properties[token] : undefined;
    if (next !== undefined) {
      if (!isObject(next)) return { kind: 'unchecked' };
      current = next;
    } else if (kinds.includes('array') && ARRAY_INDEX.test(token)) {
      if (!isObject(current.items)) return { kind: 'unchecked' };
      current = current.items;
    } else if (kinds.length > 0 && kinds.every((kind) => SCALAR_TYPES.has(kind))) {
      return { kind: 'missing' };
    } else if (kinds.includes('object') && current.additionalProperties === false) {
      return { kind: 'missing' };
    } else {
      return { kind: 'unchecked' };
    }
  }
  return { kind: 'schema', schema: current };
}

/**
 * Checks a column's or `each`'s pointer against the schema where the schema says enough: a property the schema
 * closes out cannot exist. Returns the schema at the pointer when known (null when it cannot be checked).
 */
export function checkPointer(
  schema: SchemaObject | null,
  pointer: string,
  path: FieldPath,
  describe: string,
): SchemaObject | null {
  if (schema === null) return null;
  const lookup = schemaAt(schema, pointerTokens(pointer));
  if (lookup.kind === 'missing') {
    throw new DeclarationProblem(path, `${pointer} cannot exist in ${describe}`);
  }
  return lookup.kind === 'schema' ? lookup.schema : null;
}

/** The schema of `each`'s elements, after checking that `each` can be an array. */
export function checkEachPointer(
  schema: SchemaObject,
  pointer: string,
  path: FieldPath,
): SchemaObject | null {
  const at = checkPointer(schema, pointer, path, 'the response schema');
  if (at === null) return null;
  const kinds = types(at);
  if (kinds.length > 0 && !kinds.includes('array')) {
    throw new DeclarationProblem(path, `${pointer} is not an array in the response schema`);
  }
  return isObject(at.items) ? at.items : null;
}
