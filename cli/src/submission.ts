import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertBatchLog, listViewpoints, type Pool } from '@batchline/db';
import {
  anthropicRequestLine,
  CHAT_COMPLETIONS_URL,
  LineSplitter,
  openAIRequestLine,
  type ProviderName,
  viewpointSystemPrompt,
} from '@batchline/domain';
import type { BatchProvider } from '@batchline/providers';
import { CommandError } from './errors.ts';

export interface ReviewSentence {
  review_sentence_id: number;
  text: string;
}

/**
 * Reads `submit` input (JSONL of `{"review_sentence_id", "text"}`), refusing the whole file on the first bad line
 * or duplicate id, with the line number.
 */
export async function readReviewSentences(path: string): Promise<ReviewSentence[]> {
  const sentences: ReviewSentence[] = [];
  const firstLineOf = new Map<number, number>();
  const splitter = new LineSplitter(1024 * 1024);
  let problem: string | null = null;
  const onLine = ({ line, text }: { line: number; text: string | null }) => {
    if (problem !== null) return;
    if (text === null) {
      problem = `${path}:${line}: line is longer than 1 MiB`;
      return;
    }
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      problem = `${path}:${line}: not JSON`;
      return;
    }
    const { review_sentence_id: id, text: sentence } = (value ?? {}) as Record<string, unknown>;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
      problem = `${path}:${line}: "review_sentence_id" must be a positive integer`;
    } else if (typeof sentence !== 'string' || sentence.trim() === '') {
      problem = `${path}:${line}: "text" must be a non-empty string`;
    } else if (firstLineOf.has(id)) {
      problem = `${path}:${line}: duplicate review_sentence_id ${id} (first on line ${firstLineOf.get(id)})`;
    } else {
      firstLineOf.set(id, line);
      sentences.push({ review_sentence_id: id, text: sentence });
    }
  };
  try {
    for await (const chunk of createReadStream(path)) splitter.push(chunk as Buffer, onLine);
  } catch (error) {
    throw new CommandError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  splitter.end(onLine);
  if (problem !== null) throw new CommandError(problem);
  if (sentences.length === 0) throw new CommandError(`${path}: no review sentences`);
  return sentences;
}

export interface SubmittedBatch {
  batchLogId: number;
  providerBatchId: string;
  requests: number;
}

/** Each provider's request line, and the endpoint every request of its batches targets. */
const REQUEST_FORMAT: Record<ProviderName, { line: typeof openAIRequestLine; endpoint: string }> = {
  openai: { line: openAIRequestLine, endpoint: CHAT_COMPLETIONS_URL },
  anthropic: { line: anthropicRequestLine, endpoint: '/v1/messages' },
};

/**
 * Builds the provider request file(s) from review sentences — split over the provider's limits (OpenAI 50,000
 * requests or 200 MB a file, Anthropic 100,000 requests or 256 MB a batch) — uploads each, creates the batch and
 * records a pending batch log whose first check follows the poll schedule.
 */
export async function submitSentences(options: {
  pool: Pool;
  provider: BatchProvider;
  sentences: readonly ReviewSentence[];
  model: string;
  firstPollDelayMs: number;
}): Promise<SubmittedBatch[]> {
  const catalogue = await listViewpoints(options.pool);
  if (catalogue.length === 0) {
    throw new CommandError('wl_spec_vps is empty: fill the viewpoint catalogue before submitting');
  }
  const systemPrompt = viewpointSystemPrompt(catalogue);
  const { limits } = options.provider;
  const format = REQUEST_FORMAT[options.provider.name];
  const dir = await mkdtemp(join(tmpdir(), 'batchline-submit-'));
  const submitted: SubmittedBatch[] = [];
  try {
    let index = 0;
    for (let part = 0; index < options.sentences.length; part++) {
      const path = join(dir, `requests-${part}.jsonl`);
      const out = createWriteStream(path);
      const sentenceIds: number[] = [];
      let bytes = 0;
      while (index < options.sentences.length && sentenceIds.length < limits.maxRequests) {
        const sentence = options.sentences[index]!;
        const line = `${JSON.stringify(
          format.line({
            reviewSentenceId: sentence.review_sentence_id,
            text: sentence.text,
            model: options.model,
            systemPrompt,
          }),
        )}\n`;
        const size = Buffer.byteLength(line);
        if (sentenceIds.length > 0 && bytes + size > limits.maxBytes) break;
        if (!out.write(line)) await once(out, 'drain');
        sentenceIds.push(sentence.review_sentence_id);
        bytes += size;
        index += 1;
      }
      out.end();
      await once(out, 'close');
      const batch = await options.provider.uploadAndCreateBatch({
        inputPath: path,
        endpoint: format.endpoint,
        metadata: { job_type: 'specific_viewpoint', source: 'batchline' },
      });
      const { id } = await insertBatchLog(options.pool, {
        provider: options.provider.name,
        batchId: batch.id,
        model: options.model,
        totalSentences: sentenceIds.length,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: options.firstPollDelayMs,
        requestIds: sentenceIds,
      });
      submitted.push({ batchLogId: id, providerBatchId: batch.id, requests: sentenceIds.length });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return submitted;
}
