import type { ResultErrorCode } from '@batchline/domain';
import { errorTypeForStatus } from './api-error.ts';
import { type BatchPlan, endsInErrorFile, type PlannedRequest } from './batch-plan.ts';
import type { FileStore, LineSink, StoredFile } from './file-store.ts';
import { derivedId } from './ids.ts';
import { embeddingsBodyOf } from './oracle.ts';

/** Why the requests that did not run failed: the batch was cancelled or expired first. */
export type NotRunCode = typeof ResultErrorCode.batchCancelled | typeof ResultErrorCode.batchExpired;

export interface ResultFiles {
  outputFile: StoredFile | null;
  errorFile: StoredFile | null;
  unattributableLines: Array<{ file: 'output' | 'error'; line: number }>;
  inputTokens: number;
  outputTokens: number;
}

export interface ResultContext {
  batchId: string;
  plan: BatchPlan;
  /** How many requests ran, in execution order; the others fail with `notRunCode`. */
  ranCount: number;
  notRunCode: NotRunCode;
  /** `created` of the chat completions, in seconds. */
  answeredAt: number;
}

const NOT_RUN_MESSAGE: Record<NotRunCode, string> = {
  batch_cancelled: 'This request could not be executed before the batch was cancelled.',
  batch_expired: 'This request could not be executed before the completion window expired.',
};

/**
 * Writes a terminal batch's output and error files in OpenAI's line format, in execution order, with a
 * duplicated line's copy at the end of its file. A file with no line is not created (its id stays null).
 */
export async function writeResultFiles(store: FileStore, ctx: ResultContext): Promise<ResultFiles> {
  const { plan, batchId } = ctx;
  const ran = [...plan.executionOrder.subarray(0, ctx.ranCount)].map((i) => plan.requests[i]!);
  const notRun = [...plan.executionOrder.subarray(ctx.ranCount)].map((i) => plan.requests[i]!);
  const inOutput = ran.filter((r) => !endsInErrorFile(r.result) && r.result.kind !== 'omitted');
  const inErrors = ran.filter((r) => endsInErrorFile(r.result));
  const unattributableLines: ResultFiles['unattributableLines'] = [];

  // Lines are rendered one at a time as they are written: a large batch's files are never held in memory.
  const writeFile = async (
    kind: 'output' | 'error',
    requests: PlannedRequest[],
  ): Promise<StoredFile | null> => {
    if (requests.length === 0) return null;
    const copies = requests.filter((request) => request.duplicate);
    return store.writeLines(`batch_${batchId}_${kind}.jsonl`, 'batch_output', async (sink: LineSink) => {
      let lineNo = 0;
      for (const request of [...requests, ...copies]) {
        lineNo += 1;
        if (request.result.kind === 'garbage') unattributableLines.push({ file: kind, line: lineNo });
        await sink.write(resultLine(batchId, request, ctx.answeredAt));
      }
    });
  };

  const outputFile = await writeFile('output', inOutput);
  // Requests that did not run fail with the batch's reason; line faults apply only to requests that ran.
  const notRunLines = notRun.map(
    (request): PlannedRequest => ({
      ...request,
      duplicate: false,
      result: { kind: 'error', code: ctx.notRunCode, message: NOT_RUN_MESSAGE[ctx.notRunCode] },
    }),
  );
  const errorFile = await writeFile('error', [...inErrors, ...notRunLines]);

  let inputTokens = 0;
  let outputTokens = 0;
  for (const request of ran) {
    inputTokens += request.promptTokens;
    if (request.result.kind === 'answer') outputTokens += request.result.completionTokens;
  }
  return { outputFile, errorFile, unattributableLines, inputTokens, outputTokens };
}

/** The result line of a request that ran (not for `omitted`, which has none). */
function resultLine(batchId: string, request: PlannedRequest, answeredAt: number): string {
  const { result, customId } = request;
  const ids = {
    id: derivedId('batch_req_', batchId, customId),
    custom_id: customId,
  };
  const requestId = derivedId('req_', batchId, customId);
  switch (result.kind) {
    case 'answer':
      return JSON.stringify({
        ...ids,
        response: {
          status_code: 200,
          request_id: requestId,
          body: {
            id: derivedId('chatcmpl-', batchId, customId),
            object: 'chat.completion',
            created: answeredAt,
            model: request.model,
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content: result.content, refusal: null, annotations: [] },
                logprobs: null,
                finish_reason: 'stop',
              },
            ],
            usage: {
              prompt_tokens: request.promptTokens,
              completion_tokens: result.completionTokens,
              total_tokens: request.promptTokens + result.completionTokens,
              prompt_tokens_details: { cached_tokens: request.cachedPromptTokens, audio_tokens: 0 },
              completion_tokens_details: {
                reasoning_tokens: 0,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
              },
            },
            service_tier: 'default',
            system_fingerprint: 'fp_batchline_emulator',
          },
        },
        error: null,
      });
    case 'embeddings':
      return JSON.stringify({
        ...ids,
        response: {
          status_code: 200,
          request_id: requestId,
          body: embeddingsBodyOf(request, result.vectors),
        },
        error: null,
      });
    case 'http':
      return JSON.stringify({
        ...ids,
        response: {
          status_code: result.status,
          request_id: requestId,
          body: {
            error: {
              message: result.message,
              type: errorTypeForStatus(result.status),
              param: null,
              code: null,
            },
          },
        },
        error: null,
      });
    case 'error':
      return errorLine(batchId, customId, result.code, result.message);
    case 'garbage':
      return result.text;
    case 'omitted':
      throw new Error(`request ${customId} has no result line`);
  }
}

function errorLine(batchId: string, customId: string, code: string, message: string): string {
  return JSON.stringify({
    id: derivedId('batch_req_', batchId, customId),
    custom_id: customId,
    response: null,
    error: { code, message },
  });
}
