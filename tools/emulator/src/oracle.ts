import { httpErrorCode, ResultErrorCode } from '@batchline/domain';
import { type AnswerCheck, builtInJobTypes, DEFAULT_JOB_TYPE, type JobType } from '@batchline/job-types';
import { anthropicErrorType } from './api-error.ts';
import { embeddingsResponseBody } from './embeddings.ts';
import { messageRequestAsLine } from './message-request.ts';
import {
  type AnswerSettings,
  type PlannedRequest,
  RequestAnswerer,
  type RequestResult,
} from './request-answer.ts';
import type { BatchRequestLine, ExpectedOutcome } from './types.ts';

export type Provider = 'openai' | 'anthropic';

/**
 * What docs/interface.md §4 and contract §8 make of the line served for `request` — derived from why the emulator
 * served it: a scripted failure by its code, an answer by its job type's own check (`checkAnswer` /
 * `checkEmbedding`, against the catalogue the prompt carried), as batchline reads it.
 */
export function expectedOutcome(
  request: PlannedRequest,
  ran: boolean,
  notRunCode: string,
  provider: Provider,
): ExpectedOutcome {
  const { customId, result, jobType } = request;
  const failed = (errorCode: string): ExpectedOutcome => ({ customId, outcome: 'failed', errorCode });
  if (ran && (result.kind === 'omitted' || result.kind === 'garbage')) {
    return { customId, outcome: 'missing', errorCode: ResultErrorCode.missingResult };
  }
  const requestId = jobType?.parseCustomId(customId) ?? null;
  if (!jobType || requestId === null) return failed(ResultErrorCode.invalidCustomId);
  if (!ran) return failed(notRunCode);
  if (result.kind === 'http' || result.kind === 'error') return failed(failureCode(result, provider));
  const check = checkServed(jobType, request);
  if (!check.ok) return failed(check.code);
  const viewpointIds =
    jobType.name === DEFAULT_JOB_TYPE ? [...new Set(check.rows.map((row) => Number(row[0])))] : [];
  return { customId, outcome: 'succeeded', jobType: jobType.name, requestId, rows: check.rows, viewpointIds };
}

/** The error code batchline records for an error line: OpenAI's code or HTTP status, Anthropic's error type. */
export function failureCode(
  result: Extract<RequestResult, { kind: 'http' | 'error' }>,
  provider: Provider,
): string {
  if (provider === 'anthropic') {
    return result.kind === 'error' ? result.code || 'api_error' : anthropicErrorType(result.status);
  }
  return result.kind === 'error' ? result.code || 'provider_error' : httpErrorCode(result.status);
}

/** The answer as served: an Anthropic `tool_use` input (an object) when the request forced the tool, else text. */
export function servedAnswer(result: Extract<RequestResult, { kind: 'answer' }>): unknown {
  if (!result.toolUse) return result.content;
  try {
    const value: unknown = JSON.parse(result.content);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : result.content;
  } catch {
    return result.content;
  }
}

/** The response body of an embeddings request, as its result line carries it. */
export const embeddingsBodyOf = (request: PlannedRequest, vectors: readonly number[][]) =>
  embeddingsResponseBody({ model: request.model, vectors, promptTokens: request.promptTokens });

function checkServed(jobType: JobType, request: PlannedRequest): AnswerCheck {
  const { result } = request;
  if (result.kind === 'embeddings') return jobType.checkEmbedding(embeddingsBodyOf(request, result.vectors));
  if (result.kind !== 'answer') throw new Error(`unexpected result kind for ${request.customId}`);
  return jobType.checkAnswer(servedAnswer(result), (key) => result.catalogue.has(key));
}

/** An Anthropic Message Batch request as its create body holds it. */
export interface MessageBatchRequest {
  custom_id: string;
  params: Record<string, unknown>;
}

/**
 * The oracle for one request, without a running emulator: what the emulator answers to `request` (an OpenAI batch
 * input line or an Anthropic batch request) under `settings`, and what batchline makes of it had it run.
 * `jobType` is the batch's job type (by default, the one the custom id's prefix names, else the default one).
 */
export function expectedRequestOutcome(
  request: BatchRequestLine | MessageBatchRequest,
  settings: Partial<AnswerSettings> = {},
  jobType?: JobType,
): ExpectedOutcome {
  const anthropic = !('url' in request);
  const line = anthropic ? messageRequestAsLine(request.custom_id, request.params) : request;
  const answerer = new RequestAnswerer({ ...settings, jobTypes: settings.jobTypes ?? builtInJobTypes() });
  const answeredAs = jobType ?? answerer.jobTypeOf(line) ?? answerer.fallbackFor(line.url);
  const planned = answerer.plan(line, answeredAs);
  return expectedOutcome(planned, true, ResultErrorCode.batchExpired, anthropic ? 'anthropic' : 'openai');
}
