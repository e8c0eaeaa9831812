import { EXPORT_CONTENTS, EXPORT_FORMATS, type OutcomeScope, parseScopeKey } from '@batchline/db';
import { PROVIDERS, RetryCode } from '@batchline/domain';
import { z } from 'zod';
import { ALERT_CADENCES, isTimeZone, parseMinute } from './alert-cadence.ts';
import { type ApiError, invalid } from './api-error.ts';
import {
  AlertChannelSchema,
  AlertConditionSchema,
  type JobState,
  JobStateSchema,
  type TimeRange,
  TimeRangeSchema,
} from './api-schema.ts';

/** Where the values come from, which decides the error codes: unknown query parameters or unknown body fields. */
type Source = 'query' | 'body';

/** The first problem zod found, as a 400 naming the field. */
function firstProblem(error: z.ZodError, source: Source): ApiError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    return source === 'query'
      ? invalid(key, `unknown parameter "${key}"`, 'unknown_parameter')
      : invalid(key, `unknown field "${key}"`, 'unknown_field');
  }
  const field = issue.path.map(String).join('.') || (source === 'body' ? '(body)' : '(query)');
  const code = source === 'query' ? 'invalid_parameter' : 'invalid_field';
  return invalid(field, `${field} ${issue.message}`, code);
}

/**
 * Reads a query string into `schema`: each parameter at most once (no array coercion), unknown parameters
 * refused, values parsed by the schema.
 */
export function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const values = (query ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(values)) {
    if (Array.isArray(value)) throw invalid(key, `${key} is given more than once`);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) throw firstProblem(parsed.error, 'query');
  return parsed.data;
}

/** Reads a JSON body into `schema` (strict objects: unknown fields are refused, not dropped). No body is `{}`. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const value = body === undefined ? {} : body;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('(body)', 'the body must be a JSON object', 'invalid_body');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw firstProblem(parsed.error, 'body');
  return parsed.data;
}

const MAX_SAFE_DIGITS = /^[1-9][0-9]{0,14}$/;

/** A `:id` path parameter: a batch log id. */
export function parseBatchLogId(params: unknown): number {
  const raw = (params as { id?: unknown } | undefined)?.id;
  if (typeof raw !== 'string' || !MAX_SAFE_DIGITS.test(raw)) {
    throw invalid('id', 'id must be a batch log id (a positive whole number)');
  }
  return Number(raw);
}

/** A whole number written in a query string, within bounds. */
const wholeNumber = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .regex(/^[0-9]{1,9}$/, { error })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error });
};

/** A whole JSON number within bounds. */
const wholeJsonNumber = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/** A JSON number within bounds. */
const jsonNumber = (min: number, max: number) => {
  const error = `must be a number from ${min} to ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
};

export interface MonitoringQuery {
  timeRange: TimeRange;
  status: JobState | null;
  jobType: string | null;
  includeDetails: boolean;
  page: number;
  limit: number;
}

export const MAX_PAGE = 100_000;
export const MAX_LIMIT = 100;

const TIME_RANGE_NAMES = TimeRangeSchema.options;
const JOB_STATES = JobStateSchema.options;

export const MonitoringQuerySchema: z.ZodType<MonitoringQuery> = z
  .strictObject({
    timeRange: z
      .enum(TIME_RANGE_NAMES, { error: `must be one of ${TIME_RANGE_NAMES.join(', ')}` })
      .default('24h'),
    status: z.enum(JOB_STATES, { error: `must be one of ${JOB_STATES.join(', ')}` }).optional(),
    jobType: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'must be a job type such as specific_viewpoint' })
      .optional(),
    includeDetails: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).default('false'),
    page: wholeNumber(1, MAX_PAGE).optional(),
    limit: wholeNumber(1, MAX_LIMIT).optional(),
  })
  .transform((query) => ({
    timeRange: query.timeRange,
    status: query.status ?? null,
    jobType: query.jobType ?? null,
    includeDetails: query.includeDetails === 'true' || query.includeDetails === '1',
    page: query.page ?? 1,
    limit: query.limit ?? 50,
  }));

/** Actions that take no parameters accept an empty object (or no body) and nothing else. */
export const EmptyBodySchema = z.strictObject({});
/** Routes that take no query parameters refuse any. */
export const EmptyQuerySchema = z.strictObject({});

/** `/polling/pause` and `/polling/resume`: every status check, or (`provider`) that provider's pending batches. */
export const PollingBodySchema = z.strictObject({
  provider: z.enum(PROVIDERS, { error: `must be one of ${PROVIDERS.join(', ')}` }).optional(),
});

export const PrioritySchema = z.strictObject({ priority: wholeJsonNumber(-100, 100) });

/** A retry's optional filter: the error codes (patterns such as http_5xx allowed) whose failures go out again. */
export const RetryBodySchema = z.strictObject({
  codes: z
    .array(RetryCode, { error: 'must be a list of error codes such as ["http_429", "http_5xx"]' })
    .min(1, { error: 'must name at least one error code' })
    .max(50, { error: 'may name at most 50 error codes' })
    .optional(),
});
/** A priority given as text (`batchline priority ID N`), checked as the API checks `{"priority": N}`. */
export function parsePriorityText(text: string): number {
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // Not a JSON number: the schema names the problem.
  }
  return parseBody(PrioritySchema, { priority: value }).priority;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

const timeOfDay = z
  .string()
  .refine((text) => parseMinute(text) !== null, { error: 'must be a time of day HH:MM' });

/** One rule's delivery and scope to change: absent fields stay, null clears quiet hours or a scope. */
const AlertRuleDeliveryChangeSchema = z.strictObject({
  cadence: z.enum(ALERT_CADENCES, { error: `must be one of ${ALERT_CADENCES.join(', ')}` }).optional(),
  quietHours: z
    .strictObject({
      start: timeOfDay,
      end: timeOfDay,
      timeZone: z
        .string()
        .refine(isTimeZone, { error: 'must be an IANA time zone such as Europe/Berlin or UTC' })
        .optional(),
    })
    .refine((quiet) => quiet.start !== quiet.end, { error: 'must end at another time than it starts' })
    .nullable()
    .optional(),
  jobType: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,63}$/, { error: 'must be a job type such as specific_viewpoint' })
    .nullable()
    .optional(),
  provider: z.enum(['openai', 'anthropic'], { error: 'must be openai or anthropic' }).nullable().optional(),
});

/** `POST .../alerts`: the settings to change; a threshold set to null turns its rule off. */
export const AlertSettingsSchema = z
  .strictObject({
    errorRateThreshold: jsonNumber(0, 100).nullable().optional(),
    processingTimeThreshold: wholeJsonNumber(MINUTE_MS, 30 * DAY_MS)
      .nullable()
      .optional(),
    throughputThreshold: jsonNumber(0, 1_000_000).nullable().optional(),
    stuckBatchThreshold: wholeJsonNumber(MINUTE_MS, 30 * DAY_MS)
      .nullable()
      .optional(),
    batchFailureThreshold: wholeJsonNumber(1, 1_000_000).nullable().optional(),
    notificationChannels: z
      .array(z.enum(AlertChannelSchema.options, { error: 'must hold slack and/or log' }), {
        error: 'must be a list of channels: slack, log',
      })
      .min(1, { error: 'must name at least one channel' })
      .refine((channels) => new Set(channels).size === channels.length, {
        error: 'must not repeat a channel',
      })
      .optional(),
    alertSuppression: wholeJsonNumber(MINUTE_MS, 7 * DAY_MS).optional(),
    evaluationWindow: wholeJsonNumber(MINUTE_MS, 30 * DAY_MS).optional(),
    perRule: z
      .partialRecord(AlertConditionSchema, AlertRuleDeliveryChangeSchema, {
        error: `must map conditions (${AlertConditionSchema.options.join(', ')}) to their delivery`,
      })
      .optional(),
  })
  .refine((settings) => Object.keys(settings).length > 0, { error: 'must change at least one setting' });
export type AlertSettings = z.infer<typeof AlertSettingsSchema>;

/** A `:id` path parameter of the read routes: a batch log id (`123`) or a job (`job-45`). */
export function parseScopeParameter(params: unknown): OutcomeScope {
  const raw = (params as { id?: unknown } | undefined)?.id;
  const scope = typeof raw === 'string' ? parseScopeKey(raw) : null;
  if (scope) return scope;
  throw invalid('id', 'id must be a batch log id (a positive whole number) or a job (job-<id>)');
}

export interface RequestsQuery {
  outcome: 'succeeded' | 'failed' | null;
  errorCode: string | null;
  page: number;
  limit: number;
}

export const RequestsQuerySchema: z.ZodType<RequestsQuery> = z
  .strictObject({
    outcome: z.enum(['succeeded', 'failed'], { error: 'must be succeeded or failed' }).optional(),
    errorCode: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'must be an error code such as http_429' })
      .optional(),
    page: wholeNumber(1, MAX_PAGE).optional(),
    limit: wholeNumber(1, MAX_LIMIT).optional(),
  })
  .transform((query) => ({
    outcome: query.outcome ?? null,
    errorCode: query.errorCode ?? null,
    page: query.page ?? 1,
    limit: query.limit ?? 50,
  }));

export const ExportQuerySchema = z.strictObject({
  what: z.enum(EXPORT_CONTENTS, { error: `must be one of ${EXPORT_CONTENTS.join(', ')}` }),
  format: z.enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(', ')}` }),
});
export type ExportQuery = z.infer<typeof ExportQuerySchema>;
