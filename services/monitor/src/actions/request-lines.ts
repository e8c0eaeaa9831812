import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { hasJobInputs, readJobInputs } from '@batchline/db';
import { CHAT_COMPLETIONS_URL, LineSplitter, type ProviderName } from '@batchline/domain';
import { JobTypeError, loadCatalogue, requestIdFromText } from '@batchline/job-types';
import type { BatchProvider } from '@batchline/providers';
import { ApiError } from '../api-error.ts';
import type { ActionDeps } from './action-deps.ts';

/** What a retry's request lines are read from. */
export type RequestLineSource =
  /** A job `batchline submit` made: its recorded inputs, rebuilt with its job type. */
  | { kind: 'recorded'; batchJobId: number }
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
 * Where the lines of batch `origin`'s failed requests come from: what batchline recorded at submission when its job
 * has recorded inputs (the provider deletes input files and expires them after 30 days), else the input file.
 */
export async function requestLineSource(
  deps: ActionDeps,
  origin: RequestLineOrigin,
): Promise<RequestLineSource> {
  if (origin.batchJobId !== null && (await hasJobInputs(deps.pool, origin.batchJobId)))
    return { kind: 'recorded', batchJobId: origin.batchJobId };
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
    return source.kind === 'recorded'
      ? await writeRecordedLines(deps, provider, origin, source.batchJobId, wanted, out)
      : await writeInputFileLines(provider, source.inputFileId, wanted, out);
  } finally {
    out.end();
    await once(out, 'close');
  }
}

async function writeLine(out: WriteStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}

/**
 * Rebuilds the lines from the job's recorded inputs with its job type, model and catalogue, as `batchline submit`
 * built them: the same job type builds the same line from the same input.
 */
async function writeRecordedLines(
  deps: ActionDeps,
  provider: BatchProvider,
  origin: RequestLineOrigin,
  batchJobId: number,
  wanted: ReadonlySet<string>,
  out: WriteStream,
): Promise<WrittenLines> {
  const jobType = deps.jobTypes.get(origin.jobType);
  if (!jobType) {
    throw new ApiError(
      409,
      'input_unavailable',
      `batch log ${origin.id} is of job type ${origin.jobType}, which is not declared, so its request lines cannot be rebuilt`,
    );
  }
  const providerName = provider.name as ProviderName;
  const requestIds = [...wanted].flatMap((customId) => {
    const id = jobType.parseCustomId(customId);
    return id === null ? [] : [String(id)];
  });
  const inputs = await readJobInputs(deps.pool, batchJobId, requestIds);
  let catalogue: Awaited<ReturnType<typeof loadCatalogue>>;
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
async function writeInputFileLines(
  provider: BatchProvider,
  inputFileId: string,
  wanted: ReadonlySet<string>,
  out: WriteStream,
): Promise<WrittenLines> {
  const seen = new Set<string>();
  let endpoint = CHAT_COMPLETIONS_URL;
  const pending: string[] = [];
  const splitter = new LineSplitter();
  const onLine = ({ text }: { text: string | null }) => {
    if (text === null || text.trim() === '') return;
    let line: { custom_id?: unknown; url?: unknown };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      return;
    }
    if (typeof line.custom_id !== 'string' || !wanted.has(line.custom_id) || seen.has(line.custom_id)) return;
    seen.add(line.custom_id);
    if (typeof line.url === 'string' && line.url.startsWith('/v1/')) endpoint = line.url;
    pending.push(`${text}\n`);
  };
  for await (const chunk of await provider.openFile(inputFileId)) {
    splitter.push(chunk as Buffer, onLine);
    for (const line of pending.splice(0)) await writeLine(out, line);
  }
  splitter.end(onLine);
  for (const line of pending.splice(0)) await writeLine(out, line);
  return { written: seen, endpoint };
}
