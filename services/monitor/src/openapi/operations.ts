import type { z } from 'zod';
import {
  AlertRulesDataSchema,
  AlertsDataSchema,
  CancelResultSchema,
  JobDataSchema,
  MonitoringDataSchema,
  PollingDataSchema,
  RetryResultSchema,
} from '../api-schema.ts';
import { DetailDataSchema, RequestsDataSchema } from '../detail-schema.ts';
import {
  EnqueueBodySchema,
  EnqueueResultSchema,
  REQUEST_INTAKE_PATH,
} from '../plugins/request-intake-routes.ts';
import {
  AlertSettingsSchema,
  EmptyBodySchema,
  EmptyQuerySchema,
  ExportQuerySchema,
  MonitoringQuerySchema,
  PollingBodySchema,
  PrioritySchema,
  RequestsQuerySchema,
  RetryBodySchema,
} from '../validation.ts';

/** One admin API route as its description shows it: the schemas its handler parses and answers with. */
export interface Operation {
  method: 'get' | 'post';
  /** Under the admin prefix, in OpenAPI's form (`/{id}/retry`). */
  path: string;
  /** Instead of `path`: a route mounted elsewhere under `/api/admin` (the batcher's request intake). */
  absolutePath?: string;
  summary: string;
  /** Acting needs an operator's token; reading takes a reader's too. */
  operatorOnly: boolean;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The status of a success and what it carries; `stream` answers are files (CSV or JSONL). */
  status: 200 | 201 | 202;
  answer: z.ZodType | 'stream';
}

const BatchOrJob = 'a batch log id (`123`) or a job (`job-45`)';

/**
 * Every route of the admin API, with the very schemas its handler validates with and its answer type; the
 * OpenAPI document is generated from this list, and a test holds it equal to the routes the app registers.
 */
export const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '',
    absolutePath: REQUEST_INTAKE_PATH,
    summary: 'Hands requests (1 to 10,000) to the batcher, idempotent by job type and request id',
    operatorOnly: true,
    body: EnqueueBodySchema,
    status: 202,
    answer: EnqueueResultSchema,
  },
  {
    method: 'get',
    path: '/',
    summary: 'The monitoring view: figures, charts, queues, providers, a page of batches, the batch jobs',
    operatorOnly: false,
    query: MonitoringQuerySchema,
    status: 200,
    answer: MonitoringDataSchema,
  },
  {
    method: 'get',
    path: '/alerts',
    summary: 'The alert rules and the recent alerts',
    operatorOnly: false,
    query: EmptyQuerySchema,
    status: 200,
    answer: AlertsDataSchema,
  },
  {
    method: 'post',
    path: '/alerts',
    summary: 'Changes alert rules',
    operatorOnly: true,
    body: AlertSettingsSchema,
    status: 200,
    answer: AlertRulesDataSchema,
  },
  ...(['pause', 'resume'] as const).flatMap((verb): Operation[] => [
    {
      method: 'post',
      path: `/polling/${verb}`,
      summary: `${verb === 'pause' ? 'Pauses' : 'Resumes'} every status check, or (\`provider\`) those of a provider's pending batches`,
      operatorOnly: true,
      body: PollingBodySchema,
      status: 200,
      answer: PollingDataSchema,
    },
    {
      method: 'post',
      path: `/{id}/${verb}`,
      summary: `${verb === 'pause' ? 'Pauses' : 'Resumes'} the status checks of one batch (a batch log id)`,
      operatorOnly: true,
      body: EmptyBodySchema,
      status: 200,
      answer: JobDataSchema,
    },
  ]),
  {
    method: 'post',
    path: '/{id}/priority',
    summary: "Sets a batch's polling priority",
    operatorOnly: true,
    body: PrioritySchema,
    status: 200,
    answer: JobDataSchema,
  },
  {
    method: 'post',
    path: '/{id}/retry',
    summary:
      "Resubmits a final batch's failed requests (optionally only those of some error codes) as its job's next retry round",
    operatorOnly: true,
    body: RetryBodySchema,
    status: 201,
    answer: RetryResultSchema,
  },
  {
    method: 'post',
    path: '/{id}/cancel',
    summary: 'Cancels a pending batch at its provider',
    operatorOnly: true,
    body: EmptyBodySchema,
    status: 202,
    answer: CancelResultSchema,
  },
  {
    method: 'get',
    path: '/{id}',
    summary: `One batch or job (${BatchOrJob}): figures, batches, error summary, timeline`,
    operatorOnly: false,
    query: EmptyQuerySchema,
    status: 200,
    answer: DetailDataSchema,
  },
  {
    method: 'get',
    path: '/{id}/requests',
    summary: `The request outcomes of ${BatchOrJob}, page by page (a job's: each request's final outcome)`,
    operatorOnly: false,
    query: RequestsQuerySchema,
    status: 200,
    answer: RequestsDataSchema,
  },
  {
    method: 'get',
    path: '/{id}/export',
    summary: `Exports the request outcomes or landed rows of ${BatchOrJob} as CSV or JSONL (streamed)`,
    operatorOnly: false,
    query: ExportQuerySchema,
    status: 200,
    answer: 'stream',
  },
];
