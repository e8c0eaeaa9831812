import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  insertBatchJob,
  insertBatchLog,
  type JobOrigin,
  type NewBatchJob,
  type Pool,
  recordJobInputs,
  withTransaction,
} from '@batchline/db';
import { LineSplitter, type RetryPolicy, resolveRetryPolicy } from '@batchline/domain';
import {
  checkInputRecord,
  type InputRecord,
  type JobType,
  loadCatalogue,
  type RequestContext,
  type RequestId,
} from '@batchline/job-types';
import type { BatchProvider } from '@batchline/providers';
import type pg from 'pg';
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

/** A submission: its job and the batches of its parts. */
export interface Submission {
  batchJobId: number;
  batches: SubmittedBatch[];
}

/**
 * The job a submission or an adopted batch becomes, with the retry policy in force now (the job type's `retry` laid
 * over the configured default) kept with it, so that changing either later does not change a running job.
 */
export function newBatchJob(options: {
  jobType: JobType;
  provider: BatchProvider;
  model: string | null;
  origin: JobOrigin;
  totalRequests: number;
  defaultRetryPolicy: RetryPolicy;
}): NewBatchJob {
  const policy = resolveRetryPolicy(options.defaultRetryPolicy, options.jobType.retry);
  return {
    jobType: options.jobType.name,
    provider: options.provider.name,
    model: options.model,
    origin: options.origin,
    totalRequests: options.totalRequests,
    retryPolicy: { ...policy },
  };
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
  maxRequestsPerFile: number | undefined,
): Promise<RequestFile[]> {
  const { limits } = provider;
  const maxRequests = Math.min(limits.maxRequests, maxRequestsPerFile ?? limits.maxRequests);
  const files: RequestFile[] = [];
  let index = 0;
  while (index < records.length) {
    const file: RequestFile = { path: join(dir, `requests-${files.length}.jsonl`), requestIds: [] };
    const out = createWriteStream(file.path);
    try {
      let bytes = 0;
      while (index < records.length && file.requestIds.length < maxRequests) {
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
 * Records the job of a submission with what it sends: each request's input record, from which a retry round rebuilds
 * the request lines once the provider's input file is gone.
 */
async function insertSubmittedJob(
  client: pg.ClientBase,
  options: {
    provider: BatchProvider;
    jobType: JobType;
    records: readonly InputRecord[];
    model: string;
    defaultRetryPolicy: RetryPolicy;
  },
): Promise<number> {
  const { records } = options;
  const job = await insertBatchJob(
    client,
    newBatchJob({ ...options, origin: 'submit', totalRequests: records.length }),
  );
  await recordJobInputs(
    client,
    job,
    records.map(({ id, fields }) => ({ requestId: String(id), fields })),
  );
  return job;
}

/**
 * Builds the provider request file(s) of a job type from its input records, split over the provider's limits,
 * uploads each, creates the batch and records a pending batch log of that job type, with its request ids, whose
 * first check follows the poll schedule. The submission is one batch job (origin `submit`), recorded once its
 * first batch exists, with the input records it sends (a submission refused before any upload leaves no job and no
 * inputs behind); each batch is a part of it.
 */
export async function submitRequests(options: {
  pool: Pool;
  provider: BatchProvider;
  jobType: JobType;
  records: readonly InputRecord[];
  model: string;
  firstPollDelayMs: number;
  defaultRetryPolicy: RetryPolicy;
  /** Most requests a batch, below the provider's limit (SUBMIT_MAX_REQUESTS_PER_FILE). */
  maxRequestsPerFile?: number;
}): Promise<Submission> {
  const { provider, jobType, model } = options;
  const context = { model, catalogue: await loadCatalogue(options.pool, jobType) };
  const dir = await mkdtemp(join(tmpdir(), 'batchline-submit-'));
  const submitted: SubmittedBatch[] = [];
  let batchJobId: number | null = null;
  try {
    const files = await writeRequestFiles(
      dir,
      provider,
      jobType,
      options.records,
      context,
      options.maxRequestsPerFile,
    );
    for (const [partIndex, file] of files.entries()) {
      const batch = await provider.uploadAndCreateBatch({
        inputPath: file.path,
        endpoint: jobType.batchEndpoint(provider.name),
        metadata: { job_type: jobType.name, source: 'batchline' },
      });
      // The job and its first part commit together: no job is left without a batch.
      const jobId: number | null = batchJobId;
      const { id, job } = await withTransaction(
        options.pool,
        async (client): Promise<{ id: number; job: number }> => {
          const job = jobId ?? (await insertSubmittedJob(client, options));
          const logged = await insertBatchLog(client, {
            provider: provider.name,
            batchId: batch.id,
            model,
            jobType: jobType.name,
            totalSentences: file.requestIds.length,
            inputFileId: batch.inputFileId,
            firstPollDelayMs: options.firstPollDelayMs,
            // One job type's ids are all integers or all strings (parseInputId returns its id kind only).
            requestIds: file.requestIds as readonly number[] | readonly string[],
            job: { batchJobId: job, partIndex, parentBatchLogId: null, retryRound: 0 },
          });
          return { id: logged.id, job };
        },
      );
      batchJobId = job;
      submitted.push({ batchLogId: id, providerBatchId: batch.id, requests: file.requestIds.length });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { batchJobId: batchJobId!, batches: submitted };
}
