import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { keptRequestsOf, readBatchedLines, readJobInputs } from '@batchline/db';
import { CHAT_COMPLETIONS_URL, LineSplitter, type ProviderName } from '@batchline/domain';
import {
  type CatalogueEntry,
  type JobType,
  JobTypeError,
  loadCatalogue,
  requestIdFromText,
} from '@batchline/job-types';
import type { BatchProvider } from '@batchline/providers';
import { ApiError } from '../api-error.ts';
import type { ActionDeps } from './action-deps.ts';

/** What a retry's request lines are read from. */
export type RequestLineSource =
  /** A job `batchline submit` made: its recorded inputs, rebuilt with its job type. */
  | { kind: 'recorded'; batchJobId: number }
  /** A job the batcher made: the lines it built and sent, as they were. */
  | { kind: 'batched'; batchJobId: number }
  /** An adopted batch (or one outside any job): the lines of the provider's input file, as they were. */
  | { kind: 'input_file'; inputFileId: string };

/** The batch a retry reads its lines for. */
export interface RequestLineOrigin {
  id: number;
  batchJobId: number | null;
  inputFileId: string | null;
  jobType: string;
  model: string | null;
}

/**
 * Where the lines of batch `origin`'s failed requests come from: what batchline kept of its job — the inputs `batchline
 * submit` recorded, or the lines the batcher built — since the provider deletes input files and expires them after
 * 30 days; else (an adopted batch) the provider's input file.
 */
export async function requestLineSource(
  deps: ActionDeps,
  origin: RequestLineOrigin,
): Promise<RequestLineSource> {
  const kept = origin.batchJobId === null ? null : await keptRequestsOf(deps.pool, origin.batchJobId);
  if (kept === 'inputs') return { kind: 'recorded', batchJobId: origin.batchJobId! };
  if (kept === 'lines') return { kind: 'batched', batchJobId: origin.batchJobId! };
  if (kept === 'requeued') {
    throw new ApiError(
      409,
      'nothing_to_retry',
      `batch log ${origin.id} was refused by the provider and its requests were queued again by the batcher, which sends them in a later batch`,
    );
  }
  if (!origin.inputFileId)
    throw new ApiError(409, 'input_unavailable', `batch log ${origin.id} has no recorded input file`);
  return { kind: 'input_file', inputFileId: origin.inputFileId };
}

/** The custom_ids written and the endpoint they target. */
export interface WrittenLines {
  written: ReadonlySet<string>;
  endpoint: string;
}

/** Writes the request lines of the custom_ids in `wanted` to `path`, each once, from `source`. */
export async function writeRequestLines(
  deps: ActionDeps,
  provider: BatchProvider,
  origin: RequestLineOrigin,
  source: RequestLineSource,
  wanted: ReadonlySet<string>,
  path: string,
): Promise<WrittenLines> {
  const out = createWriteStream(path);
  try {
    if (source.kind === 'input_file')
      return await copyInputFileLines(provider, source.inputFileId, wanted, out);
    const jobType = jobTypeOf(deps, origin);
    const requestIds = [...wanted].flatMap((customId) => {
      const id = jobType.parseCustomId(customId);
      return id === null ? [] : [String(id)];
    });
    if (source.kind === 'recorded')
      return await rebuildLines(deps, provider, jobType, origin, source.batchJobId, requestIds, out);
    const lines = new LineFilter(wanted);
    for (const line of await readBatchedLines(deps.pool, source.batchJobId, requestIds))
      await lines.take(line, out);
    return { written: lines.seen, endpoint: lines.endpoint };
  } finally {
    out.end();
    await once(out, 'close');
  }
}

async function writeLine(out: WriteStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}

function jobTypeOf(deps: ActionDeps, origin: RequestLineOrigin): JobType {
  const jobType = deps.jobTypes.get(origin.jobType);
  if (jobType) return jobType;
  throw new ApiError(
    409,
    'input_unavailable',
    `batch log ${origin.id} is of job type ${origin.jobType}, which is not declared, so its request lines cannot be rebuilt`,
  );
}

/**
 * Rebuilds the lines from the job's recorded inputs with its job type, model and (current) catalogue, as `batchline
 * submit` built them: the same job type builds the same line from the same input.
 */
async function rebuildLines(
  deps: ActionDeps,
  provider: BatchProvider,
  jobType: JobType,
  origin: RequestLineOrigin,
  batchJobId: number,
  requestIds: readonly string[],
  out: WriteStream,
): Promise<WrittenLines> {
  const providerName = provider.name as ProviderName;
  const inputs = await readJobInputs(deps.pool, batchJobId, requestIds);
  let catalogue: CatalogueEntry[];
  try {
    catalogue = await loadCatalogue(deps.pool, jobType);
  } catch (error) {
    if (error instanceof JobTypeError) throw new ApiError(409, 'input_unavailable', error.message);
    throw error;
  }
  const context = { model: origin.model ?? '', catalogue };
  const written = new Set<string>();
  for (const { requestId, fields } of inputs) {
    const id = requestIdFromText(jobType, requestId);
    if (id === null) continue;
    const line = jobType.requestLine(providerName, { id, fields }, context);
    written.add(String(line.custom_id));
    await writeLine(out, `${JSON.stringify(line)}\n`);
  }
  return { written, endpoint: jobType.batchEndpoint(providerName) };
}

/** Copies the lines of the provider's input file whose custom_id is wanted, each once, as they were. */
async function copyInputFileLines(
  provider: BatchProvider,
  inputFileId: string,
  wanted: ReadonlySet<string>,
  out: WriteStream,
): Promise<WrittenLines> {
  const lines = new LineFilter(wanted);
  const splitter = new LineSplitter();
  const texts: string[] = [];
  const onLine = ({ text }: { text: string | null }) => {
    if (text !== null) texts.push(text);
  };
  for await (const chunk of await provider.openFile(inputFileId)) {
    splitter.push(chunk as Buffer, onLine);
    for (const text of texts.splice(0)) await lines.take(text, out);
  }
  splitter.end(onLine);
  for (const text of texts.splice(0)) await lines.take(text, out);
  return { written: lines.seen, endpoint: lines.endpoint };
}

/** Keeps the request lines whose custom_id is wanted, each once, as they were, and the endpoint they target. */
class LineFilter {
  readonly seen = new Set<string>();
  endpoint = CHAT_COMPLETIONS_URL;
  readonly wanted: ReadonlySet<string>;
  constructor(wanted: ReadonlySet<string>) {
    this.wanted = wanted;
  }

  async take(text: string, out: WriteStream): Promise<void> {
    if (text.trim() === '') return;
    let line: { custom_id?: unknown; url?: unknown };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      return;
    }
    const customId = line.custom_id;
    if (typeof customId !== 'string' || !this.wanted.has(customId) || this.seen.has(customId)) return;
    this.seen.add(customId);
    if (typeof line.url === 'string' && line.url.startsWith('/v1/')) this.endpoint = line.url;
    await writeLine(out, `${text}\n`);
  }
}
