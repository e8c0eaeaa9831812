import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertBatchLog, type Pool } from '@batchline/db';
import { LineSplitter } from '@batchline/domain';
import {
  checkInputRecord,
  type InputRecord,
  type JobType,
  loadCatalogue,
  type RequestContext,
  type RequestId,
} from '@batchline/job-types';
import type { BatchProvider } from '@batchline/providers';
import { CommandError } from './errors.ts';

/**
 * Reads `submit` input — JSONL, one object a line with the job type's `input.id` and `input.fields` (for
 * `specific_viewpoint`: `{"review_sentence_id", "text"}`) — refusing the whole file on the first bad line or
 * repeated id, with the line number.
 */
export async function readInputRecords(path: string, jobType: JobType): Promise<InputRecord[]> {
  const { id: idField } = jobType.declaration.input;
  const records: InputRecord[] = [];
  const firstLineOf = new Map<RequestId, number>();
  const splitter = new LineSplitter(1024 * 1024);
  let problem: string | null = null;
  const onLine = ({ line, text }: { line: number; text: string | null }) => {
    if (problem !== null) return;
    if (text === null) {
      problem = `${path}:${line}: line is longer than 1 MiB`;
      return;
    }
    if (text.trim() === '') return;
    let value: Record<string, unknown>;
    try {
      value = (JSON.parse(text) ?? {}) as Record<string, unknown>;
    } catch {
      problem = `${path}:${line}: not JSON`;
      return;
    }
    const checked = checkInputRecord(jobType, value[idField], value);
    if ('problem' in checked) {
      problem = `${path}:${line}: ${checked.problem}`;
      return;
    }
    const { record } = checked;
    const { id } = record;
    if (firstLineOf.has(id)) {
      problem = `${path}:${line}: duplicate ${idField} ${id} (first on line ${firstLineOf.get(id)})`;
    } else {
      firstLineOf.set(id, line);
      records.push(record);
    }
  };
  try {
    for await (const chunk of createReadStream(path)) splitter.push(chunk as Buffer, onLine);
  } catch (error) {
    throw new CommandError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  splitter.end(onLine);
  if (problem !== null) throw new CommandError(problem);
  if (records.length === 0) throw new CommandError(`${path}: no input lines to submit`);
  return records;
}

export interface SubmittedBatch {
  batchLogId: number;
  providerBatchId: string;
  requests: number;
}

interface RequestFile {
  path: string;
  requestIds: RequestId[];
}

/**
 * Writes the request lines into files within the provider's limits (OpenAI 50,000 requests or 200 MB a file,
 * Anthropic 100,000 requests or 256 MB a batch). Every file is written before any is uploaded, so that a request
 * that cannot be built (an id Anthropic refuses) stops the submission before any batch exists.
 */
async function writeRequestFiles(
  dir: string,
  provider: BatchProvider,
  jobType: JobType,
  records: readonly InputRecord[],
  context: RequestContext,
): Promise<RequestFile[]> {
  const { limits } = provider;
  const files: RequestFile[] = [];
  let index = 0;
  while (index < records.length) {
    const file: RequestFile = { path: join(dir, `requests-${files.length}.jsonl`), requestIds: [] };
    const out = createWriteStream(file.path);
    try {
      let bytes = 0;
      while (index < records.length && file.requestIds.length < limits.maxRequests) {
        const record = records[index]!;
        const line = `${JSON.stringify(jobType.requestLine(provider.name, record, context))}\n`;
        const size = Buffer.byteLength(line);
        if (file.requestIds.length > 0 && bytes + size > limits.maxBytes) break;
        if (!out.write(line)) await once(out, 'drain');
        file.requestIds.push(record.id);
        bytes += size;
        index += 1;
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
    files.push(file);
  }
  return files;
}

/**
 * Builds the provider request file(s) of a job type from its input records, split over the provider's limits,
 * uploads each, creates the batch and records a pending batch log of that job type, with its request ids, whose
 * first check follows the poll schedule.
 */
export async function submitRequests(options: {
  pool: Pool;
  provider: BatchProvider;
  jobType: JobType;
  records: readonly InputRecord[];
  model: string;
  firstPollDelayMs: number;
}): Promise<SubmittedBatch[]> {
  const { provider, jobType, model } = options;
  const context = { model, catalogue: await loadCatalogue(options.pool, jobType) };
  const dir = await mkdtemp(join(tmpdir(), 'batchline-submit-'));
  const submitted: SubmittedBatch[] = [];
  try {
    for (const file of await writeRequestFiles(dir, provider, jobType, options.records, context)) {
      const batch = await provider.uploadAndCreateBatch({
        inputPath: file.path,
        endpoint: jobType.batchEndpoint(provider.name),
        metadata: { job_type: jobType.name, source: 'batchline' },
      });
      const { id } = await insertBatchLog(options.pool, {
        provider: provider.name,
        batchId: batch.id,
        model,
        jobType: jobType.name,
        totalSentences: file.requestIds.length,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: options.firstPollDelayMs,
        // One job type's ids are all integers or all strings (parseInputId returns its id kind only).
        requestIds: file.requestIds as readonly number[] | readonly string[],
      });
      submitted.push({ batchLogId: id, providerBatchId: batch.id, requests: file.requestIds.length });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return submitted;
}
