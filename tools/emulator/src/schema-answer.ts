import type { CatalogueEntry } from '@batchline/job-types';

/** A JSON Schema (the subset structured outputs use), as declared in `responseSchema`. */
export type Schema = { readonly [keyword: string]: unknown };

/** Where an answer holds catalogue keys: JSON pointer tokens, `*` standing for any array element. */
export type ReferencePath = readonly string[];

export interface AnswerSource {
  /** The catalogue the request's prompt carries. */
  catalogue: readonly CatalogueEntry[];
  /** The catalogue keys the request's text names, in catalogue order. */
  named: readonly string[];
  references: readonly ReferencePath[];
  /** The request's own generator, seeded from its custom id. */
  random: () => number;
  /** Puts a key the catalogue lacks at the first place that holds one (an unknown-reference answer). */
  unknownReference: boolean;
}

const MAX_REF_DEPTH = 32;
/** Arrays without `maxItems` get at most this many elements more than their minimum. */
const EXTRA_ITEMS = 3;

const isSchema = (value: unknown): value is Schema =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * An answer that satisfies `schema` (objects with every declared property, enums, `const`, strings within
 * min/maxLength, integers and numbers within their bounds, arrays within min/maxItems, booleans, nesting, local
 * `$ref`s), deterministic for a given source. Values at a reference path are catalogue keys: the ones the request's
 * text names (`catalogueMatcher`), else drawn from the catalogue. `pattern` and `format` are not honoured beyond
 * `date` and `date-time`.
 */
export function schemaAnswer(schema: Schema, source: AnswerSource): unknown {
  return new AnswerWriter(schema, source).value(schema, []);
}

/**
 * A JSON value that violates `schema` while staying JSON: an object lacking its first required property, or a
 * value of another type than the schema's. Null when the schema accepts anything (then only prose violates it).
 */
export function schemaViolation(schema: Schema, valid: unknown): unknown {
  const resolved = resolve(schema, schema);
  const type = primaryType(resolved);
  const required = Array.isArray(resolved.required) ? (resolved.required as string[]) : [];
  if (type === 'object' && isSchema(valid) && required.length > 0) {
    const { [required[0]!]: _dropped, ...rest } = valid;
    return rest;
  }
  switch (type) {
    case 'object':
      return [valid];
    case 'array':
      return { items: valid };
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
    case 'boolean':
      return 'not a valid value';
    default:
      return null;
  }
}

class AnswerWriter {
  private unknownPlaced = false;

  constructor(
    private readonly root: Schema,
    private readonly source: AnswerSource,
  ) {}

  value(declared: Schema, path: readonly string[]): unknown {
    const schema = resolve(declared, this.root);
    if (this.isReference(path)) return this.reference(schema);
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return this.pick(schema.enum);
    const option = firstOption(schema);
    if (option) return this.value(option, path);
    switch (primaryType(schema)) {
      case 'object':
        return this.object(schema, path);
      case 'array':
        return this.array(schema, path);
      case 'integer':
        return this.integer(schema);
      case 'number':
        return this.number(schema);
      case 'boolean':
        return this.source.random() < 0.5;
      case 'null':
        return null;
      default:
        return this.string(schema);
    }
  }

  private object(schema: Schema, path: readonly string[]): Record<string, unknown> {
    const properties = isSchema(schema.properties) ? schema.properties : {};
    const out: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(properties)) {
      out[name] = this.value(isSchema(property) ? property : {}, [...path, name]);
    }
    for (const name of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
      if (!(name in out)) out[name] = this.value({}, [...path, name]);
    }
    return out;
  }

  private array(schema: Schema, path: readonly string[]): unknown[] {
    const items = isSchema(schema.items) ? schema.items : {};
    const min = nonNegative(schema.minItems) ?? 0;
    const max = nonNegative(schema.maxItems) ?? Number.POSITIVE_INFINITY;
    const element = [...path, '*'];
    if (this.isReference(element)) return this.referenceArray(resolve(items, this.root), min, max);
    const low = Math.min(Math.max(min, 1), max);
    const high = Math.min(max, low + EXTRA_ITEMS);
    const count = low + Math.floor(this.source.random() * (high - low + 1));
    const out: unknown[] = [];
    const seen = new Set<string>();
    // Unique items may take a few draws each; an enum too small for minItems stops rather than loops.
    for (let attempt = 0; out.length < count && attempt < count * 8; attempt += 1) {
      const item = this.value(items, element);
      const text = JSON.stringify(item);
      if (schema.uniqueItems === true && seen.has(text)) continue;
      seen.add(text);
      out.push(item);
    }
    return out;
  }

  /** The keys the text names (the viewpoint classifier's answer), topped up to `min` and cut at `max`. */
  private referenceArray(items: Schema, min: number, max: number): unknown[] {
    const keys = [...this.source.named];
    if (keys.length < min) {
      const named = new Set(keys);
      const others = this.source.catalogue.map((entry) => entry.key).filter((key) => !named.has(key));
      while (keys.length < min && others.length > 0) {
        keys.push(others.splice(Math.floor(this.source.random() * others.length), 1)[0]!);
      }
    }
    const values = keys.map((key) => keyValue(key, items)).filter((value) => value !== undefined);
    const out: unknown[] = values.slice(0, max);
    if (this.source.unknownReference && !this.unknownPlaced && max > 0) {
      if (out.length === max) out.pop();
      out.push(this.unknownKey(items));
    }
    return out;
  }

  /** The first key the text names, else one drawn from the catalogue; an empty catalogue has only unknown keys. */
  private reference(schema: Schema): unknown {
    if (this.source.unknownReference && !this.unknownPlaced) return this.unknownKey(schema);
    const typed = (keys: readonly string[]) =>
      keys.map((key) => keyValue(key, schema)).filter((value) => value !== undefined);
    const named = typed(this.source.named);
    if (named.length > 0) return named[0];
    const all = typed(this.source.catalogue.map((entry) => entry.key));
    return all.length > 0 ? this.pick(all) : this.unknownKey(schema);
  }

  /** A value of the schema's type that is no key of the catalogue. */
  private unknownKey(schema: Schema): unknown {
    this.unknownPlaced = true;
    const keys = new Set(this.source.catalogue.map((entry) => entry.key));
    const type = primaryType(schema);
    if (type === 'integer' || type === 'number') {
      const numeric = [...keys].map(Number).filter(Number.isFinite);
      return Math.floor(Math.max(0, ...numeric)) + 1 + Math.floor(this.source.random() * 1000);
    }
    let key = `unknown_${Math.floor(this.source.random() * 1e6)}`;
    while (keys.has(key)) key = `${key}_`;
    return key;
  }

  private integer(schema: Schema): number {
    const { low, high } = bounds(schema, 1, 100);
    const lo = Math.ceil(low);
    const hi = Math.max(lo, Math.floor(high));
    const value = lo + Math.floor(this.source.random() * (hi - lo + 1));
    const step = typeof schema.multipleOf === 'number' && schema.multipleOf > 0 ? schema.multipleOf : 1;
    const multiple = Math.ceil(value / step) * step;
    return multiple <= hi ? multiple : Math.ceil(lo / step) * step;
  }

  private number(schema: Schema): number {
    const { low, high } = bounds(schema, 0, 1);
    // Four decimals: a value that reads the same in every column type it may land in.
    const value = Math.round((low + this.source.random() * (high - low)) * 1e4) / 1e4;
    const inside = (n: number) =>
      n >= low && n <= high && !(n === schema.exclusiveMinimum) && !(n === schema.exclusiveMaximum);
    return inside(value) ? value : (low + high) / 2;
  }

  private string(schema: Schema): string {
    const random = this.source.random();
    if (schema.format === 'date-time')
      return new Date(Date.UTC(2025, 0, 1) + Math.floor(random * 3e10)).toISOString();
    if (schema.format === 'date')
      return new Date(Date.UTC(2025, 0, 1) + Math.floor(random * 3e10)).toISOString().slice(0, 10);
    const min = nonNegative(schema.minLength) ?? 0;
    const max = nonNegative(schema.maxLength) ?? Number.POSITIVE_INFINITY;
    const text = `answer ${Math.floor(random * 1e6)}`.padEnd(min, '.');
    return text.slice(0, max);
  }

  private isReference(path: readonly string[]): boolean {
    return this.source.references.some(
      (reference) =>
        reference.length === path.length &&
        // Generated paths say `*` for every element; a pointer naming one element (`/items/0/name`) matches them.
        reference.every((token, i) => token === path[i] || (path[i] === '*' && /^\d+$/.test(token))),
    );
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.source.random() * values.length)]!;
  }
}

/** The schema a `$ref` (a local JSON pointer, `#/$defs/x`) points to, followed until it is none. */
function resolve(schema: Schema, root: Schema): Schema {
  let current = schema;
  for (let depth = 0; typeof current.$ref === 'string' && depth < MAX_REF_DEPTH; depth += 1) {
    const ref = current.$ref as string;
    let target: unknown = root;
    for (const token of ref.replace(/^#/, '').split('/').slice(1)) {
      const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
      target = isSchema(target) ? target[key] : undefined;
    }
    current = isSchema(target) ? target : {};
  }
  return current;
}

/** The first alternative of `anyOf`/`oneOf` that is not `null`, or the merge of `allOf`'s members. */
function firstOption(schema: Schema): Schema | null {
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword];
    if (!Array.isArray(options)) continue;
    const usable = options.filter(isSchema);
    return usable.find((option) => option.type !== 'null') ?? usable[0] ?? null;
  }
  if (Array.isArray(schema.allOf)) {
    const { allOf, ...rest } = schema;
    return Object.assign({}, ...allOf.filter(isSchema), rest) as Schema;
  }
  return null;
}

function primaryType(schema: Schema): string | undefined {
  const { type } = schema;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return (type.find((t) => t !== 'null') ?? type[0]) as string | undefined;
  if (isSchema(schema.properties) || Array.isArray(schema.required)) return 'object';
  if (isSchema(schema.items)) return 'array';
  return undefined;
}

/** A catalogue key as a value of the schema's type; undefined when the key cannot be one (or is not in its enum). */
function keyValue(key: string, schema: Schema): unknown {
  const type = primaryType(schema);
  let value: unknown = key;
  if (type === 'integer')
    value = /^-?\d+$/.test(key) && Number.isSafeInteger(Number(key)) ? Number(key) : undefined;
  else if (type === 'number')
    value = key.trim() !== '' && Number.isFinite(Number(key)) ? Number(key) : undefined;
  if (value !== undefined && Array.isArray(schema.enum) && !schema.enum.includes(value)) return undefined;
  return value;
}

function bounds(schema: Schema, defaultLow: number, defaultSpan: number): { low: number; high: number } {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const minimum = num(schema.minimum);
  const exclusiveMinimum = num(schema.exclusiveMinimum);
  const maximum = num(schema.maximum);
  const exclusiveMaximum = num(schema.exclusiveMaximum);
  const epsilon = primaryType(schema) === 'integer' ? 1 : 1e-4;
  const lowBound = minimum ?? (exclusiveMinimum === undefined ? undefined : exclusiveMinimum + epsilon);
  const highBound = maximum ?? (exclusiveMaximum === undefined ? undefined : exclusiveMaximum - epsilon);
  const low = lowBound ?? (highBound === undefined ? defaultLow : highBound - defaultSpan);
  const high = highBound ?? low + defaultSpan;
  return { low, high: Math.max(low, high) };
}

const nonNegative = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
