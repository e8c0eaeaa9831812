import type { RetryPolicyOverride } from '@batchline/domain';
import { type AnswerColumnPlan, answerChecker, DEFAULT_REFERENCE_ERROR, embeddingChecker } from './answer.ts';
import { JobTypeDeclaration } from './declaration.ts';
import { checkDeclaration } from './declaration-checks.ts';
import {
  DeclarationProblem,
  declarationError,
  declaredName,
  type FieldPath,
  firstZodProblem,
} from './declaration-error.ts';
import type { AnswerCheck, Catalogue, JobType, TargetColumn, TargetTable } from './job-type.ts';
import { pointerTokens } from './json-pointer.ts';
import { requestIds } from './request-id.ts';
import { batchEndpoint, requestLineBuilder } from './request-line.ts';
import { quoteIdentifier, quoteTableName } from './sql-identifier.ts';

/**
 * Validates a declaration (an untrusted parsed JSON/YAML value) and compiles it; throws JobTypeError
 * `invalid_declaration` naming `source`, the job type and the field.
 */
export function compileJobType(declaration: unknown, source: string): JobType {
  return compileDeclaration(declaration, { source, locate: () => source, builtIn: false });
}

export interface CompileOptions {
  /** The file (or `built-in`) the job type reports as its source. */
  source: string;
  /** How an error about the field at `path` names its place: the file, or `file:line` when it is known. */
  locate: (path: FieldPath) => string;
  /** A built-in job type may land in batchline's own tables (specific_viewpoint does). */
  builtIn: boolean;
}

export function compileDeclaration(value: unknown, options: CompileOptions): JobType {
  try {
    const parsed = JobTypeDeclaration.safeParse(value);
    if (!parsed.success) throw firstZodProblem(parsed.error);
    return build(parsed.data, options);
  } catch (error) {
    if (error instanceof DeclarationProblem) {
      throw declarationError(options.locate(error.path), declaredName(value), error.path, error.message);
    }
    throw error;
  }
}

function build(declaration: JobTypeDeclaration, options: CompileOptions): JobType {
  const checked = checkDeclaration(declaration, { builtIn: options.builtIn });
  const { name, request, results } = declaration;
  const ids = requestIds(checked.idKind, declaration.customIdPrefix, checked.largestId);
  const target = targetTable(results);
  const catalogue: Catalogue | null = declaration.catalogue
    ? { table: declaration.catalogue.table, selectSql: catalogueSql(declaration.catalogue) }
    : null;

  let checkAnswer: JobType['checkAnswer'] = notChat(name);
  let checkEmbedding: JobType['checkEmbedding'] = notEmbeddings(name);
  if (checked.answer !== null) {
    const each =
      results.each === undefined ? null : { pointer: results.each, tokens: pointerTokens(results.each) };
    checkAnswer = answerChecker({
      validate: checked.answer.validate,
      each,
      catalogueTable: catalogue?.table ?? null,
      columns: target.valueColumns.map(
        (column): AnswerColumnPlan => ({
          name: column.name,
          type: column.type,
          inKey: column.inKey,
          referenceErrorCode: column.referenceErrorCode,
          source: column.from.startsWith('$item')
            ? { kind: 'item', tokens: pointerTokens(column.from.slice('$item'.length)) }
            : { kind: 'answer', tokens: pointerTokens(column.from) },
        }),
      ),
    });
  } else if (request.endpoint === '/v1/embeddings') {
    checkEmbedding = embeddingChecker({
      dimensions: request.dimensions ?? null,
      columns: target.valueColumns.map(({ name: column, type }) => ({ name: column, type })),
    });
  }

  const requestLine = requestLineBuilder({
    name,
    request,
    idField: declaration.input.id,
    templates: checked.templates,
    strict: checked.answer?.strict ?? false,
    customIdFor: ids.customIdFor,
  });
  return {
    name,
    source: options.source,
    declaration,
    endpoint: request.endpoint,
    target,
    catalogue,
    retry: retryOverride(declaration.retry),
    customIdFor: ids.customIdFor,
    parseCustomId: ids.parseCustomId,
    parseInputId: ids.parseInputId,
    requestLine,
    batchEndpoint: (provider) => batchEndpoint(request, name, provider),
    checkAnswer,
    checkEmbedding,
  };
}

function retryOverride(retry: JobTypeDeclaration['retry']): RetryPolicyOverride {
  const override: RetryPolicyOverride = {};
  if (retry?.codes !== undefined) override.codes = retry.codes;
  if (retry?.maxRounds !== undefined) override.maxRounds = retry.maxRounds;
  if (retry?.delaySeconds !== undefined) override.delayMs = retry.delaySeconds * 1000;
  return override;
}

function targetTable(results: JobTypeDeclaration['results']): TargetTable {
  const key = new Set(results.key);
  const columns = Object.entries(results.columns).map(
    ([name, column]): TargetColumn => ({
      name,
      quoted: quoteIdentifier(name),
      type: column.type,
      from: column.from,
      inKey: key.has(name),
      referenceErrorCode: column.references ? (column.errorCode ?? DEFAULT_REFERENCE_ERROR) : null,
    }),
  );
  return {
    name: results.table,
    quoted: quoteTableName(results.table),
    idColumns: columns.filter((column) => column.from === '$id'),
    valueColumns: columns.filter((column) => column.from !== '$id'),
    key: results.key,
  };
}

function catalogueSql(catalogue: NonNullable<JobTypeDeclaration['catalogue']>): string {
  const key = quoteIdentifier(catalogue.key);
  const label = quoteIdentifier(catalogue.label);
  return `SELECT ${key}::text AS key, ${label}::text AS label FROM ${quoteTableName(catalogue.table)} ORDER BY ${key}`;
}

/** An embeddings job type has no chat answer to check, and a chat job type no embedding. */
const notChat = (name: string) => (): AnswerCheck => ({
  ok: false,
  code: 'invalid_content',
  message: `job type ${name} requests embeddings: its results carry an embedding, not a chat answer`,
});
const notEmbeddings = (name: string) => (): AnswerCheck => ({
  ok: false,
  code: 'invalid_content',
  message: `job type ${name} requests chat completions: its results carry an answer, not an embedding`,
});
