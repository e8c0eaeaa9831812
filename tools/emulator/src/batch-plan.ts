import { createReadStream } from 'node:fs';
import { LineSplitter } from '@batchline/domain';
import type { JobType } from '@batchline/job-types';
import { seedOf } from './ids.ts';
import { parseRequestLine } from './input-file-check.ts';
import { seededRandom } from './random.ts';
import {
  type AnswerSettings,
  type PlannedRequest,
  RequestAnswerer,
  type RequestResult,
} from './request-answer.ts';
import type { BatchRequestLine } from './types.ts';

export type { PlannedRequest, RequestResult } from './request-answer.ts';

export interface BatchPlan {
  /** The valid requests of the input file, in input order. */
  requests: PlannedRequest[];
  /** The model of the first request, reported as the batch's `model`. */
  model: string | null;
  /** Indexes into `requests` in the order the emulator "runs" them — also the order of the result files. */
  executionOrder: Uint32Array;
  /** `failedBefore[k]`: how many of the first k requests in execution order end in the error file. */
  failedBefore: Uint32Array;
}

export interface PlanOptions extends AnswerSettings {
  batchId: string;
}

/** Reads the input file once, answering every request and applying the test's line faults. */
export async function planBatch(inputPath: string, options: PlanOptions): Promise<BatchPlan> {
  const lines: BatchRequestLine[] = [];
  const splitter = new LineSplitter();
  const onLine = ({ text }: { text: string | null }) => {
    if (text === null) return;
    const parsed = parseRequestLine(text);
    if (parsed.ok) lines.push(parsed.request);
  };
  for await (const chunk of createReadStream(inputPath)) splitter.push(chunk as Buffer, onLine);
  splitter.end(onLine);
  return planRequests(lines, options);
}

/**
 * Answers every request as its job type declares and applies the test's line faults. A request whose custom id
 * names no job type is answered as the batch's (the one most of its requests name), like batchline, which knows
 * the batch's job type, would read it.
 */
export function planRequests(lines: readonly BatchRequestLine[], options: PlanOptions): BatchPlan {
  const answerer = new RequestAnswerer(options);
  const jobTypes = lines.map((line) => answerer.jobTypeOf(line));
  const batchJobType = mostCommon(jobTypes) ?? (lines[0] ? answerer.fallbackFor(lines[0].url) : null);
  const requests = lines.map((line, i) => answerer.plan(line, jobTypes[i] ?? batchJobType));
  const executionOrder = shuffledIndexes(requests.length, seedOf(options.batchId));
  return {
    requests,
    model: requests[0]?.model ?? null,
    executionOrder,
    failedBefore: countFailures(requests, executionOrder),
  };
}

/** The plan of a batch whose every request fails: answers become http 500 lines, leaving only an error file. */
export function withoutOutput(plan: BatchPlan): BatchPlan {
  const requests = plan.requests.map(
    (request): PlannedRequest =>
      request.result.kind === 'answer' ||
      request.result.kind === 'embeddings' ||
      request.result.kind === 'garbage'
        ? {
            ...request,
            result: {
              kind: 'http',
              status: 500,
              message: 'The server had an error processing your request.',
            },
          }
        : request,
  );
  return { ...plan, requests, failedBefore: countFailures(requests, plan.executionOrder) };
}

export const endsInErrorFile = (result: RequestResult): boolean =>
  result.kind === 'http' || result.kind === 'error';

function countFailures(requests: readonly PlannedRequest[], executionOrder: Uint32Array): Uint32Array {
  const failedBefore = new Uint32Array(requests.length + 1);
  for (const [k, index] of executionOrder.entries()) {
    failedBefore[k + 1] = failedBefore[k]! + (endsInErrorFile(requests[index]!.result) ? 1 : 0);
  }
  return failedBefore;
}

function mostCommon(jobTypes: readonly (JobType | null)[]): JobType | null {
  const counts = new Map<JobType, number>();
  let best: JobType | null = null;
  for (const jobType of jobTypes) {
    if (!jobType) continue;
    const count = (counts.get(jobType) ?? 0) + 1;
    counts.set(jobType, count);
    if (!best || count > counts.get(best)!) best = jobType;
  }
  return best;
}

/** A seeded Fisher–Yates permutation of 0..n-1 (mulberry32): OpenAI does not keep input order either. */
function shuffledIndexes(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}
