import { createReadStream } from 'node:fs';
import { LineSplitter, type Viewpoint, viewpointsFromSystemPrompt } from '@batchline/domain';
import { viewpointClassifier } from './classifier.ts';
import { seedOf } from './ids.ts';
import { parseRequestLine } from './input-file-check.ts';
import type { BatchRequestLine, LineFault } from './types.ts';

const DEFAULT_MODEL = 'gpt-4o-mini';

/** What running one request yields, before a cancellation or expiry decides whether it ran at all. */
export type RequestResult =
  | { kind: 'answer'; content: string; completionTokens: number; catalogue: ReadonlySet<number> }
  | { kind: 'garbage'; text: string }
  | { kind: 'http'; status: number; message: string }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'omitted' };

export interface PlannedRequest {
  customId: string;
  model: string;
  promptTokens: number;
  result: RequestResult;
  /** The request's line appears twice in its result file. */
  duplicate: boolean;
}

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

export interface PlanOptions {
  batchId: string;
  lineFaults?: (customId: string, request: BatchRequestLine) => LineFault | undefined;
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

/** Answers every request (in the chat-completions shape) and applies the test's line faults. */
export function planRequests(lines: readonly BatchRequestLine[], options: PlanOptions): BatchPlan {
  const answerer = new CatalogueAnswerer();
  const requests = lines.map((line) => planRequest(line, answerer, options));
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
      request.result.kind === 'answer' || request.result.kind === 'garbage'
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

function planRequest(
  request: BatchRequestLine,
  answerer: CatalogueAnswerer,
  options: PlanOptions,
): PlannedRequest {
  const messages = Array.isArray(request.body.messages) ? request.body.messages : [];
  const systemText = messagesText(messages, ['system', 'developer']);
  const userText = messagesText(messages, ['user']);
  const model = typeof request.body.model === 'string' ? request.body.model : DEFAULT_MODEL;
  const promptTokens = tokenEstimate(systemText) + tokenEstimate(userText) + 3 * messages.length;
  const fault = options.lineFaults?.(request.custom_id, request);
  const { catalogue, classify } = answerer.forPrompt(systemText);
  const answer = (content: string): RequestResult => ({
    kind: 'answer',
    content,
    completionTokens: tokenEstimate(content),
    catalogue,
  });

  let result: RequestResult;
  switch (fault?.kind) {
    case 'error':
      result = { kind: 'error', code: fault.code, message: fault.message };
      break;
    case 'http':
      result = {
        kind: 'http',
        status: fault.status,
        message: fault.message ?? `Request failed with status ${fault.status}.`,
      };
      break;
    case 'content':
      result = answer(fault.content);
      break;
    case 'omit':
      result = { kind: 'omitted' };
      break;
    case 'garbage':
      result = { kind: 'garbage', text: fault.text };
      break;
    default:
      result = answer(JSON.stringify({ viewpoint_ids: classify(userText) }));
  }
  return { customId: request.custom_id, model, promptTokens, result, duplicate: fault?.kind === 'duplicate' };
}

/** Caches the parsed catalogue and classifier per system prompt: a batch usually repeats one prompt. */
class CatalogueAnswerer {
  private readonly byPrompt = new Map<
    string,
    { catalogue: ReadonlySet<number>; classify: (sentence: string) => number[] }
  >();

  forPrompt(systemText: string) {
    let entry = this.byPrompt.get(systemText);
    if (!entry) {
      const viewpoints: Viewpoint[] = viewpointsFromSystemPrompt(systemText);
      entry = { catalogue: new Set(viewpoints.map((v) => v.id)), classify: viewpointClassifier(viewpoints) };
      this.byPrompt.set(systemText, entry);
    }
    return entry;
  }
}

/** The text of the messages with the given roles; array contents contribute their text parts. */
function messagesText(messages: unknown[], roles: string[]): string {
  const texts: string[] = [];
  for (const message of messages) {
    if (message === null || typeof message !== 'object') continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !roles.includes(role)) continue;
    if (typeof content === 'string') texts.push(content);
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = (part as { text?: unknown } | null)?.text;
        if (typeof text === 'string') texts.push(text);
      }
    }
  }
  return texts.join('\n');
}

/** A deterministic token count: about four characters a token, like OpenAI's rule of thumb. */
const tokenEstimate = (text: string): number => Math.ceil(text.length / 4);

/** A seeded Fisher–Yates permutation of 0..n-1 (mulberry32): OpenAI does not keep input order either. */
function shuffledIndexes(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i;
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}
