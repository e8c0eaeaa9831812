import type { ValidateFunction } from 'ajv';
import { isBatchlineTable } from './batchline-tables.ts';
import type { ColumnType, JobTypeDeclaration } from './declaration.ts';
import { DeclarationProblem } from './declaration-error.ts';
import type { RequestIdKind } from './request-id.ts';
import {
  allowsStrictMode,
  checkEachPointer,
  checkPointer,
  compileResponseSchema,
} from './response-schema.ts';
import { CATALOGUE_PLACEHOLDER, parseTemplate, type Template } from './template.ts';

/**
 * The checks the schema alone cannot make (contract §8): that columns, key, templates, catalogue and response
 * schema fit together. Each throws a DeclarationProblem naming the field; what they learn on the way is kept.
 */

export const INTEGER_TYPES: ReadonlySet<ColumnType> = new Set(['bigint', 'integer', 'smallint']);
const VECTOR_TYPES: ReadonlySet<ColumnType> = new Set(['real[]', 'double precision[]']);
/** Types a catalogue key can be compared as (its text). */
const REFERENCE_TYPES: ReadonlySet<ColumnType> = new Set([
  'bigint',
  'integer',
  'smallint',
  'numeric',
  'text',
]);
/** Columns batchline adds to every target table itself. */
const BATCHLINE_COLUMNS = ['batch_log_id', 'created_at'];
const LARGEST_ID: Partial<Record<ColumnType, number>> = {
  bigint: Number.MAX_SAFE_INTEGER,
  integer: 2_147_483_647,
  smallint: 32_767,
};

export interface CheckedDeclaration {
  idKind: RequestIdKind;
  /** The largest integer id every `$id` column can hold. */
  largestId: number;
  /** Chat only: the compiled response schema and whether OpenAI's strict mode can take it. */
  answer: { validate: ValidateFunction; strict: boolean } | null;
  /** Message templates (chat) or the input template (embeddings), in declaration order. */
  templates: Template[];
}

export function checkDeclaration(
  declaration: JobTypeDeclaration,
  options: { builtIn: boolean },
): CheckedDeclaration {
  checkInput(declaration);
  const ids = checkColumns(declaration);
  checkKey(declaration);
  checkTable(declaration, options.builtIn);
  const templates = checkTemplates(declaration);
  let answer: CheckedDeclaration['answer'] = null;
  if (declaration.request.endpoint === '/v1/chat/completions') {
    const schema = declaration.request.responseSchema;
    const validate = compileResponseSchema(schema, ['request', 'responseSchema']);
    checkPointers(declaration, schema);
    answer = { validate, strict: allowsStrictMode(schema) };
  }
  return { ...ids, answer, templates };
}

function checkInput({ input }: JobTypeDeclaration): void {
  const seen = new Set<string>();
  for (const [index, field] of input.fields.entries()) {
    const path = ['input', 'fields', index];
    if (field === input.id) throw new DeclarationProblem(path, `${field} is already input.id`);
    if (field === CATALOGUE_PLACEHOLDER) {
      throw new DeclarationProblem(path, `"${field}" is reserved for {{catalogue}}; rename the field`);
    }
    if (seen.has(field)) throw new DeclarationProblem(path, `${field} is listed twice`);
    seen.add(field);
  }
}

function checkColumns(declaration: JobTypeDeclaration): Pick<CheckedDeclaration, 'idKind' | 'largestId'> {
  const { request, results, catalogue } = declaration;
  const embeddings = request.endpoint === '/v1/embeddings';
  const idTypes: ColumnType[] = [];
  let vectors = 0;
  for (const [name, column] of Object.entries(results.columns)) {
    const at = (...rest: string[]) => ['results', 'columns', name, ...rest];
    if (BATCHLINE_COLUMNS.includes(name)) {
      throw new DeclarationProblem(at(), `batchline adds ${name} to every target table itself; remove it`);
    }
    const { from, type } = column;
    if (from === '$id') {
      if (!INTEGER_TYPES.has(type) && type !== 'text') {
        throw new DeclarationProblem(at('type'), 'a $id column must be bigint, integer, smallint or text');
      }
      idTypes.push(type);
    } else if (from === '$embedding') {
      if (!embeddings) {
        throw new DeclarationProblem(at('from'), '$embedding needs request.endpoint /v1/embeddings');
      }
      if (!VECTOR_TYPES.has(type)) {
        throw new DeclarationProblem(at('type'), 'a $embedding column must be real[] or double precision[]');
      }
      vectors += 1;
    } else if (embeddings) {
      throw new DeclarationProblem(
        at('from'),
        'an embeddings answer has no JSON content: take $id or $embedding',
      );
    } else if (from.startsWith('$item') && results.each === undefined) {
      throw new DeclarationProblem(
        at('from'),
        `${from} needs results.each (the array whose elements are rows)`,
      );
    }
    if (column.references !== undefined) {
      if (catalogue === undefined) {
        throw new DeclarationProblem(
          at('references'),
          'references the catalogue, but the job type declares none',
        );
      }
      if (from === '$id' || from === '$embedding') {
        throw new DeclarationProblem(at('references'), `a ${from} column cannot reference the catalogue`);
      }
      if (!REFERENCE_TYPES.has(type)) {
        throw new DeclarationProblem(at('references'), `a ${type} column cannot reference the catalogue`);
      }
    } else if (column.errorCode !== undefined) {
      throw new DeclarationProblem(at('errorCode'), 'applies only with references: catalogue');
    }
  }
  if (embeddings && vectors === 0) {
    throw new DeclarationProblem(
      ['results', 'columns'],
      'an /v1/embeddings job type needs a column from $embedding of type real[] or double precision[]',
    );
  }
  if (embeddings && results.each !== undefined) {
    throw new DeclarationProblem(['results', 'each'], 'an embeddings answer has no array to take rows from');
  }
  const integers = idTypes.filter((type) => INTEGER_TYPES.has(type));
  if (integers.length > 0 && integers.length < idTypes.length) {
    throw new DeclarationProblem(
      ['results', 'columns'],
      'the $id columns must all be integer columns or all text: they hold the same request id',
    );
  }
  if (integers.length === 0) return { idKind: 'string', largestId: Number.MAX_SAFE_INTEGER };
  return { idKind: 'integer', largestId: Math.min(...integers.map((type) => LARGEST_ID[type]!)) };
}

function checkKey({ results }: JobTypeDeclaration): void {
  const seen = new Set<string>();
  for (const [index, name] of results.key.entries()) {
    if (!Object.hasOwn(results.columns, name)) {
      throw new DeclarationProblem(['results', 'key', index], `${name} is not one of results.columns`);
    }
    if (seen.has(name)) throw new DeclarationProblem(['results', 'key', index], `${name} is listed twice`);
    seen.add(name);
  }
}

function checkTable({ results, catalogue }: JobTypeDeclaration, builtIn: boolean): void {
  if (!builtIn && isBatchlineTable(results.table)) {
    throw new DeclarationProblem(
      ['results', 'table'],
      `${results.table} is one of batchline's own tables; land the rows in a table of their own`,
    );
  }
  if (catalogue !== undefined && catalogue.table === results.table) {
    throw new DeclarationProblem(['results', 'table'], 'is the catalogue table; land the rows elsewhere');
  }
}

function checkTemplates(declaration: JobTypeDeclaration): Template[] {
  const { input, request, catalogue } = declaration;
  const known = new Set([input.id, ...input.fields]);
  const parse = (text: string, path: (string | number)[]): Template => {
    const template = parseTemplate(text);
    for (const name of template.names) {
      if (name === CATALOGUE_PLACEHOLDER) {
        if (catalogue === undefined) {
          throw new DeclarationProblem(
            path,
            '{{catalogue}} needs a catalogue, and the job type declares none',
          );
        }
      } else if (!known.has(name)) {
        const choices = [...known, ...(catalogue ? [CATALOGUE_PLACEHOLDER] : [])].join(', ');
        throw new DeclarationProblem(
          path,
          `{{${name.slice(0, 40)}}} is not an input field (input.id or input.fields: ${choices})`,
        );
      }
    }
    return template;
  };
  if (request.endpoint === '/v1/embeddings') return [parse(request.input, ['request', 'input'])];
  if (!request.messages.some((message) => message.role === 'user')) {
    throw new DeclarationProblem(['request', 'messages'], 'needs a message with role user');
  }
  return request.messages.map((message, index) =>
    parse(message.content, ['request', 'messages', index, 'content']),
  );
}

/** Pointers in `from` and `each` that the response schema rules out. */
function checkPointers({ results }: JobTypeDeclaration, schema: Record<string, unknown>): void {
  const items =
    results.each === undefined ? null : checkEachPointer(schema, results.each, ['results', 'each']);
  for (const [name, { from }] of Object.entries(results.columns)) {
    const path = ['results', 'columns', name, 'from'];
    if (from.startsWith('/')) checkPointer(schema, from, path, 'the response schema');
    else if (from.startsWith('$item/')) {
      checkPointer(items, from.slice('$item'.length), path, `the elements of ${results.each}`);
    }
  }
}
