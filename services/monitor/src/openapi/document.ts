import { z } from 'zod';
import { FailureSchema, success } from '../api-schema.ts';
import { OPERATIONS, type Operation } from './operations.ts';

type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema (draft 2020-12, which OpenAPI 3.1 uses): what a client sends, or gets back. */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** A query schema's fields as OpenAPI parameters (every query value is text). */
function queryParameters(schema: z.ZodType): JsonSchema[] {
  const object = jsonSchema(schema, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: object.required?.includes(name) ?? false,
    schema: property,
  }));
}

const ERROR_ANSWERS: Record<string, string> = {
  '400': 'A parameter or body field is invalid (`field` names it)',
  '401': 'No valid bearer token',
  '403': 'The token may only read',
  '404': 'The batch or job does not exist',
  '409':
    'The action does not apply to the batch in its state (an export: the job type or its table is unknown)',
  '429': 'Rate limited (`Retry-After`)',
  '503': 'The audit log cannot be written',
};

/** Which error answers a route can give: 403 and 409 only for actions, 404 only for routes on one batch or job. */
function errorApplies(status: string, operation: Operation, hasId: boolean): boolean {
  if (status === '403') return operation.operatorOnly;
  if (status === '404') return hasId;
  if (status === '409') return operation.operatorOnly || operation.answer === 'stream';
  return true;
}

function operationObject(operation: Operation, failure: JsonSchema): JsonSchema {
  const hasId = operation.path.includes('{id}');
  const content =
    operation.answer === 'stream'
      ? {
          'text/csv': { schema: { type: 'string' } },
          'application/x-ndjson': { schema: { type: 'string' } },
        }
      : { 'application/json': { schema: jsonSchema(success(operation.answer), 'output') } };
  return {
    summary: operation.summary,
    ...(operation.operatorOnly ? { description: 'Needs an operator token (ADMIN_TOKENS).' } : {}),
    parameters: [
      ...(hasId
        ? [
            {
              name: 'id',
              in: 'path',
              required: true,
              schema: { type: 'string', pattern: '^(job-)?[1-9][0-9]*$' },
            },
          ]
        : []),
      ...(operation.query ? queryParameters(operation.query) : []),
    ],
    ...(operation.body
      ? {
          requestBody: {
            required: false,
            content: { 'application/json': { schema: jsonSchema(operation.body, 'input') } },
          },
        }
      : {}),
    responses: {
      [operation.status]: { description: 'Success', content },
      ...Object.fromEntries(
        Object.entries(ERROR_ANSWERS)
          .filter(([status]) => errorApplies(status, operation, hasId))
          .map(([status, description]) => [
            status,
            { description, content: { 'application/json': { schema: failure } } },
          ]),
      ),
    },
  };
}

/** The admin API's OpenAPI 3.1 document, generated from the route schemas (OPERATIONS). */
export function openApiDocument(prefix: string): JsonSchema {
  const failure = jsonSchema(FailureSchema, 'output');
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of OPERATIONS) {
    const path = operation.absolutePath ?? (operation.path === '/' ? prefix : `${prefix}${operation.path}`);
    paths[path] = { ...paths[path], [operation.method]: operationObject(operation, failure) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'batchline admin API',
      version: '1',
      description:
        'The monitor\'s admin API (docs/interface.md §7). Every answer is `{"success": true, "data"}` or `{"success": false, "error": {"code", "message", "field"}}`.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
