import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

const SPEC_PATH = new URL('../spec/openai-batches-files.openapi.json', import.meta.url);

type JsonSchema = Record<string, unknown>;

/**
 * The spec leaves OpenAI's nullability out: its own examples (and the live API) send `null` for unset optional
 * fields such as `output_file_id` or `cancelled_at`. Optional properties therefore also accept null here;
 * required ones stay strict.
 */
function allowNullForOptionalProperties(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowNullForOptionalProperties);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) out[key] = allowNullForOptionalProperties(value);
  const properties = out.properties as Record<string, unknown> | undefined;
  if (properties && typeof properties === 'object') {
    const required = new Set((out.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries(properties)) {
      if (!required.has(name)) properties[name] = { anyOf: [property, { type: 'null' }] };
    }
  }
  return out;
}

const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: JsonSchema } };
// The spec's custom formats (`unixtime`, `int64`, `binary`) are documentation, and `x-*` keywords annotations.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ $id: 'spec', components: allowNullForOptionalProperties(spec.components) });

export type SpecSchema =
  | 'Batch'
  | 'OpenAIFile'
  | 'ListBatchesResponse'
  | 'ListFilesResponse'
  | 'DeleteFileResponse';

/** Validates a response body against a component schema of the OpenAI spec; returns the errors, empty if valid. */
export function specErrors(schema: SpecSchema, value: unknown): string[] {
  const validate = ajv.getSchema(`spec#/components/schemas/${schema}`);
  if (!validate) throw new Error(`schema ${schema} not found in the spec`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** The spec's enum of batch statuses, read from the spec rather than restated. */
export const BATCH_STATUSES: readonly string[] = (
  spec.components.schemas.Batch as { properties: { status: { enum: string[] } } }
).properties.status.enum;
