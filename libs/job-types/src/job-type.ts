import type { AnswerCheck, ProviderName, RequestId, RetryPolicyOverride, RowValue } from '@batchline/domain';
import type { ColumnType, JobTypeDeclaration } from './declaration.ts';

/**
 * A job type ready to use: its declaration validated and compiled once at start (the answer schema into an ajv
 * validator, templates into parts, SQL identifiers quoted), so that per-line work is plain function calls.
 */

// Declared once in libs/domain (the result path needs them without job types); re-exported for job-type users.
export type { AnswerCheck, RequestId, RowValue };

/** One entry of a catalogue, as `{{catalogue}}` renders it (`<key>: <label>`). */
export interface CatalogueEntry {
  key: string;
  label: string;
}

export interface TargetColumn {
  name: string;
  /** `"name"`, quoted for SQL. */
  quoted: string;
  type: ColumnType;
  from: string;
  /** Part of `results.key` (created NOT NULL; a missing value fails the request). */
  inKey: boolean;
  /** Error code when the value is not a catalogue key; null when the column does not reference the catalogue. */
  referenceErrorCode: string | null;
}

export interface TargetTable {
  /** As declared (`schema.table` or `table`). */
  name: string;
  /** Quoted for SQL (`"schema"."table"`). */
  quoted: string;
  /** The columns filled with the request's id (`$id`), in declaration order. */
  idColumns: readonly TargetColumn[];
  /** Every other declared column, in declaration order: the shape of each shipped row. */
  valueColumns: readonly TargetColumn[];
  key: readonly string[];
}

export interface Catalogue {
  table: string;
  /** `SELECT key::text AS key, label::text AS label FROM table ORDER BY key`, identifiers quoted. */
  selectSql: string;
}

/** What a request is built from: one line of the input file, already checked. */
export interface InputRecord {
  id: RequestId;
  /** The values of `input.fields`, as text. */
  fields: Readonly<Record<string, string>>;
}

export interface RequestContext {
  model: string;
  /** The catalogue's entries, when the job type has one (loaded once per submission). */
  catalogue: readonly CatalogueEntry[];
}

export interface JobType {
  readonly name: string;
  /** The file it was declared in, or `built-in`. */
  readonly source: string;
  readonly declaration: JobTypeDeclaration;
  readonly endpoint: JobTypeDeclaration['request']['endpoint'];
  readonly target: TargetTable;
  readonly catalogue: Catalogue | null;
  /** What the declaration's `retry` sets of the retry policy; the configured default fills the rest. */
  readonly retry: RetryPolicyOverride;

  /** `<prefix>-<id>`. */
  customIdFor(id: RequestId): string;
  /** The request id in a custom id, or null when it is not `<prefix>-<id>` of this job type's id kind. */
  parseCustomId(customId: string): RequestId | null;
  /** The input field `input.id` of one input line, checked; null when it is not a valid id of this job type. */
  parseInputId(value: unknown): RequestId | null;

  /** One request of the provider's batch input (`{custom_id, method, url, body}` or Anthropic's `{custom_id, params}`). */
  requestLine(provider: ProviderName, input: InputRecord, context: RequestContext): Record<string, unknown>;
  /** The provider endpoint a batch of this job type targets (`/v1/chat/completions`, `/v1/embeddings`, `/v1/messages`). */
  batchEndpoint(provider: ProviderName): string;

  /**
   * Checks a chat answer — the content text, or an already parsed object (Anthropic tool use) — against the
   * response schema, resolves catalogue references and extracts the rows.
   */
  checkAnswer(content: unknown, isCatalogueKey: (key: string) => boolean): AnswerCheck;
  /** Checks an embeddings response body (`{data: [{embedding}]}`) and extracts the rows. */
  checkEmbedding(body: unknown): AnswerCheck;
}
