import { RetryCode } from '@batchline/domain';
import { z } from 'zod';

/**
 * The declaration of a job type (docs/job-types.md, contract §8): how its requests are built and where its answers
 * land. This zod schema is the one definition; `job-type.schema.json` is generated from it for editors.
 */

/** A Postgres identifier batchline will quote: lower case, so that quoted and unquoted spellings agree. */
const Identifier = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    'must be a lower-case identifier: a-z, 0-9 and _, not starting with a digit',
  );
/** A table, optionally schema-qualified (`analytics.review_sentiments`). */
const TableName = z
  .string()
  .regex(
    /^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/,
    'must be a lower-case table name, optionally schema-qualified (schema.table)',
  );
/** An RFC 6901 JSON pointer into the answer (`/label`, `/items/0/name`); `` would be the whole answer. */
const JsonPointer = z.string().regex(/^(\/([^~/]|~[01])*)+$/, 'must be a JSON pointer such as /label');

/** Column types batchline can create and fill; a whitelist, so that no declaration can smuggle SQL into DDL. */
export const COLUMN_TYPES = [
  'bigint',
  'integer',
  'smallint',
  'double precision',
  'real',
  'numeric',
  'boolean',
  'text',
  'jsonb',
  'real[]',
  'double precision[]',
] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/**
 * Where a column's value comes from: `$id` (the request's id), `$embedding` (the vector of an embeddings answer),
 * `$item` (the element of `results.each`), `$item/<pointer>` (a pointer into that element) or a JSON pointer into
 * the answer.
 */
const ColumnSource = z
  .union(
    [
      z.literal('$id'),
      z.literal('$embedding'),
      z.literal('$item'),
      z.string().regex(/^\$item(\/([^~/]|~[01])*)+$/, 'must be $item/<pointer>'),
      JsonPointer,
    ],
    { error: 'must be $id, $embedding, $item, $item/<pointer> or a JSON pointer such as /label' },
  )
  .describe(
    "Where the value comes from: $id (the request's id), $embedding (an embeddings answer's vector), $item (the element of results.each), $item/<pointer> (a JSON pointer into that element) or a JSON pointer into the answer (/label).",
  );

export const ColumnDeclaration = z.strictObject({
  from: ColumnSource,
  type: z.enum(COLUMN_TYPES),
  /** The value must be a key of the job type's catalogue, or the request fails with `errorCode`. */
  references: z
    .literal('catalogue')
    .optional()
    .describe("The value must be a key of the job type's catalogue, or the request fails with errorCode."),
  errorCode: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a lower-case error code such as unknown_label')
    .optional()
    .describe('The error code of a request whose value is not a catalogue key (default unknown_reference).'),
});
export type ColumnDeclaration = z.infer<typeof ColumnDeclaration>;

const Message = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  /** A template: `{{field}}` of `input.fields`, `{{catalogue}}`. */
  content: z
    .string()
    .min(1)
    .describe('A template: {{field}} of input.id or input.fields, {{catalogue}} for the catalogue.'),
});

/** A JSON Schema object; compiled (and so checked) when the declaration loads. */
const ResponseSchema = z
  .record(z.string(), z.unknown())
  .describe(
    'The JSON Schema (2020-12) the answer must satisfy, a JSON object; sent as structured output (OpenAI json_schema, Anthropic tool input_schema).',
  );

const ChatRequest = z.strictObject({
  endpoint: z.literal('/v1/chat/completions'),
  /** The model unless `submit --model` says otherwise; without it, the configured default model. */
  model: z.string().min(1).optional().describe('The model, unless submit --model says otherwise.'),
  messages: z.array(Message).min(1).describe('The chat messages; at least one with role user.'),
  responseSchema: ResponseSchema,
  temperature: z.number().min(0).max(2).optional().describe('Sampling temperature (Anthropic takes 0 to 1).'),
  /** Anthropic requires a ceiling on the answer's tokens; OpenAI gets it as `max_completion_tokens` when set. */
  maxTokens: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "Most tokens of an answer: Anthropic's max_tokens (default 1024), OpenAI's max_completion_tokens.",
    ),
});

const EmbeddingsRequest = z.strictObject({
  endpoint: z.literal('/v1/embeddings'),
  model: z.string().min(1).optional().describe('The model, unless submit --model says otherwise.'),
  /** A template of the text to embed. */
  input: z
    .string()
    .min(1)
    .describe('A template of the text to embed: {{field}} of input.id or input.fields.'),
  dimensions: z
    .number()
    .int()
    .positive()
    .max(65_536)
    .optional()
    .describe('The length of the vectors asked for; an answer of another length fails with invalid_content.'),
});

/** The job type's retry policy; each field left out comes from the default (RETRY_CODES, RETRY_MAX_ROUNDS, RETRY_DELAY). */
const RetryDeclaration = z.strictObject({
  codes: z
    .array(RetryCode)
    .optional()
    .describe(
      'Error codes whose requests go out again, patterns allowed (http_5xx); never invalid_custom_id. Default RETRY_CODES.',
    ),
  maxRounds: z
    .number()
    .int()
    .min(0)
    .max(20)
    .optional()
    .describe('Most automatic retry rounds of a job (0: none). Default RETRY_MAX_ROUNDS.'),
  delaySeconds: z
    .number()
    .int()
    .min(0)
    .max(86_400)
    .optional()
    .describe('Seconds between a batch ending and its retryable failures going out. Default RETRY_DELAY.'),
});
/** The public events an outbound webhook can receive (docs/events.md). */
export const WEBHOOK_EVENTS = ['batch.finalized', 'job.finalized'] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** The name of an environment variable: a declaration names where a secret is, never the secret itself. */
const EnvVariable = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'must be an environment variable name: A-Z, 0-9 and _');

/** Where this job type's events are POSTed (docs/events.md, outbound webhooks). */
export const WebhookDeclaration = z.strictObject({
  urlEnv: EnvVariable.describe('The environment variable holding the endpoint URL (http or https).'),
  secretEnv: EnvVariable.describe(
    'The environment variable holding the signing secret (whsec_<base64> or text).',
  ),
  events: z
    .array(z.enum(WEBHOOK_EVENTS))
    .min(1)
    .default([...WEBHOOK_EVENTS])
    .describe('The events POSTed to it; default both.'),
});
export type WebhookDeclaration = z.infer<typeof WebhookDeclaration>;

export const JobTypeDeclaration = z.strictObject({
  /** The JSON Schema an editor checks the file against (`job-type.schema.json`); batchline ignores it. */
  $schema: z
    .string()
    .optional()
    .describe('The JSON Schema an editor checks the file against; batchline ignores it.'),
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be lower case: a-z, 0-9 and _, starting with a letter')
    .describe('The name submit --job-type and track --job-type use; unique among the job types in force.'),
  description: z.string().optional().describe('What the job type does, for people.'),
  input: z
    .strictObject({
      /** The input field that keys a request: a positive integer or a string of 1–64 of [A-Za-z0-9_.-]. */
      id: Identifier.describe(
        'The input field that keys a request: a positive integer, or a string of 1-64 of [A-Za-z0-9_.-].',
      ),
      /** The other input fields templates may use. */
      fields: z
        .array(Identifier)
        .default([])
        .describe('The other input fields templates may use, as {{field}}.'),
    })
    .describe('The fields of each line of the input file (JSONL).'),
  customIdPrefix: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,15}$/, 'must be 1-16 letters, digits or _, starting with a letter')
    .describe("Each request's custom_id is <customIdPrefix>-<id>."),
  request: z
    .discriminatedUnion('endpoint', [ChatRequest, EmbeddingsRequest])
    .describe('How a request is built: a chat completion with an answer schema, or an embedding.'),
  catalogue: z
    .strictObject({
      table: TableName.describe('The table, optionally schema-qualified.'),
      key: Identifier.describe('The column an answer value must match.'),
      label: Identifier.describe('The column {{catalogue}} shows beside each key.'),
    })
    .optional()
    .describe('A table of allowed values: rendered by {{catalogue}}, checked by references: catalogue.'),
  results: z
    .strictObject({
      table: TableName.describe('The target table, optionally schema-qualified; migrate creates it.'),
      /** One row per element of this array of the answer. */
      each: JsonPointer.optional().describe('A JSON pointer to an array of the answer: one row per element.'),
      columns: z
        .record(Identifier, ColumnDeclaration)
        .refine((columns) => Object.keys(columns).length > 0, {
          message: 'declare at least one column',
        })
        .describe('The columns of the target table and where each value comes from.'),
      key: z
        .array(Identifier)
        .min(1)
        .describe('The columns a row is unique on: a repeated key lands once, the first row stays.'),
    })
    .describe('Where the answers land.'),
  retry: RetryDeclaration.optional().describe(
    "How the job's failed requests are retried; each field left out comes from the configured default.",
  ),
  webhook: WebhookDeclaration.optional().describe(
    "An HTTP endpoint this job type's batch.finalized / job.finalized events are POSTed to, signed.",
  ),
  keepRawAnswers: z
    .boolean()
    .default(false)
    .describe(
      "Keep every result line as the provider returned it (table batch_request_answers), beyond the provider's 30 days.",
    ),
});
export type JobTypeDeclaration = z.infer<typeof JobTypeDeclaration>;
/** A declaration as written in a file (defaults not yet applied). */
export type JobTypeDeclarationInput = z.input<typeof JobTypeDeclaration>;
