import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { insertBatchLog, type Pool } from '@batchline/db';
import type { Viewpoint } from '@batchline/domain';
import type { BatchOutcome, Emulator, LineFault } from '@batchline/emulator';
import type { CatalogueEntry, JobType, JobTypeSet } from '@batchline/job-types';
import { DEFAULT_JOB_TYPE } from '@batchline/job-types';
import type { BatchProvider } from '@batchline/providers';
import { reviewText, SECOND_JOB_TYPE } from './job-types.ts';
import { BATCH_KINDS, type BatchKind, type Profile } from './profiles.ts';
import type { Rng } from './rng.ts';

/** The viewpoint catalogue of a run: no significant word is shared between two names (see the emulator's classifier). */
export const CHAOS_CATALOGUE: readonly Viewpoint[] = [
  { id: 201, name: 'battery life' },
  { id: 202, name: 'screen brightness' },
  { id: 203, name: 'delivery speed' },
  { id: 204, name: 'room cleanliness' },
  { id: 205, name: 'staff friendliness' },
  { id: 206, name: 'breakfast variety' },
  { id: 207, name: 'login process' },
  { id: 208, name: 'subscription pricing' },
  { id: 209, name: 'offline mode' },
  { id: 210, name: 'warranty coverage' },
];

const FIRST_SENTENCE_ID = 5_000_001;
const MODEL = 'gpt-4o-mini';
/** A result line over 1 MiB (BI2 in docs/fault-injection.md): above NATS's default max_payload on its own. */
const HUGE_CONTENT_BYTES = 1_200_000;

/** The kinds of spoiled result line a request can get (every row of docs/interface.md §4, plus hostile data, BI3/BI7). */
const BAD_LINE_WEIGHTS = {
  error: 3,
  http: 3,
  'content-shape': 3,
  'unknown-viewpoint': 2,
  'invalid-custom-id': 3,
  omit: 2,
  garbage: 2,
  duplicate: 2,
  hostile: 2,
} as const;
type BadLineKind = keyof typeof BAD_LINE_WEIGHTS;

/** Contents that are not `{"viewpoint_ids": [<integer>, ...]}` (and a few that are, oddly written). */
const CONTENT_SHAPES = [
  'I think this sentence is about the battery.',
  '[201, 202]',
  '{"viewpoint_ids": "201"}',
  '{"viewpoint_ids": [201.5]}',
  '{"viewpoint_ids": [-201]}',
  '{"viewpoint_ids": [[201]]}',
  '{"ids": [201]}',
  '"201"',
  'null',
  '',
  '{"viewpoint_ids": [201, 201]}',
  '{"viewpoint_ids": []}',
  '```json\n{"viewpoint_ids": [203]}\n```',
];
/** Data that must stay data: SQL, templates, terminal escapes, newlines, long non-ASCII text (BI7). */
const HOSTILE_CONTENTS = [
  "'); DROP TABLE review_sentences_wl_spec_vp; --",
  '{{constructor.constructor("return process")()}}',
  '\u001b[31mred\u001b[0m\n{"level":60,"msg":"forged log line"}',
  `{"viewpoint_ids": [204], "note": "${'日本語のレビュー'.repeat(300)}"}`,
];
const ERROR_CODES = ['server_error', 'rate_limit_exceeded', 'invalid_request', 'context_length_exceeded'];
const HTTP_STATUSES = [400, 401, 429, 500, 503];
const GARBAGE_LINES = [
  '{"custom_id": "rs-truncated", "response": ',
  '<html><body><h1>502 Bad Gateway</h1></body></html>',
  'not json at all',
  '\u0000\u0001\u0002 binary',
];
/** Malformed custom_ids, unique per request because they embed its sentence id. */
const INVALID_CUSTOM_IDS: readonly ((id: number) => string)[] = [
  (id) => `review-${id}`,
  (id) => `rs-${id}'; DROP TABLE wl_spec_vps; --`,
  (id) => `rs-0${id}`,
  (id) => `RS-${id}`,
  (id) => `rs-${id} `,
  (id) => `rs-${id}\nrs-1`,
  (id) => `rs-${id}\u001b[2J`,
  (id) => `rs--${id}`,
];

export interface BatchSpec {
  index: number;
  kind: BatchKind;
  /** The batch's job type: specific_viewpoint, or the run's second one (see job-types.ts). */
  jobType: string;
  size: number;
  /** When the batch is submitted, from the start of the run. */
  submitAtMs: number;
  firstSentenceId: number;
  /** What the emulator is told about the batch's end (undefined: it completes normally). */
  outcome: BatchOutcome | undefined;
  /** Spoiled result lines by request position. */
  lineFaults: Map<number, LineFault>;
  /** Malformed custom_ids by request position. */
  customIdOverrides: Map<number, string>;
}

/** The batches of a run, derived from the seed alone: sizes, ends, spoiled lines and submission times. */
export function planWorkload(profile: Profile, rng: Rng): BatchSpec[] {
  const count = profile.batches;
  const sizes = Array.from({ length: count }, (_, i) => {
    if (i < profile.fixedSizes.length) return profile.fixedSizes[i]!;
    const bucket = profile.sizes[Number(rng.weighted(weightsByIndex(profile.sizes.map((s) => s.weight))))]!;
    return rng.int(bucket.min, bucket.max);
  });
  // Every kind of end at least once (when there are enough batches), the rest by weight; then shuffled.
  const kinds: BatchKind[] = Array.from({ length: count }, (_, i) =>
    i < BATCH_KINDS.length ? BATCH_KINDS[i]! : rng.weighted(profile.batchKindWeights),
  );
  shuffle(kinds, rng);
  // From a fork, so that the rest of a seed's plan is what it was before there was a second job type.
  const jobTypeRng = rng.fork('job-types');
  const jobTypes = Array.from({ length: count }, (_, i) =>
    // The last batch is of the second one whenever it has a share: every run lands both.
    (profile.secondJobTypeShare > 0 && i === count - 1) || jobTypeRng.chance(profile.secondJobTypeShare)
      ? SECOND_JOB_TYPE
      : DEFAULT_JOB_TYPE,
  );
  const largest = sizes.indexOf(Math.max(...sizes));

  let nextSentenceId = FIRST_SENTENCE_ID;
  const specs = sizes.map((size, index): BatchSpec => {
    const kind = kinds[index]!;
    const firstSentenceId = nextSentenceId;
    nextSentenceId += size;
    const spec: BatchSpec = {
      index,
      kind,
      jobType: jobTypes[index]!,
      size,
      submitAtMs: Math.floor(rng.next() * profile.submitWindowMs),
      firstSentenceId,
      outcome: outcomeFor(kind, rng),
      lineFaults: new Map(),
      customIdOverrides: new Map(),
    };
    for (let position = 0; position < size; position++) {
      if (rng.chance(profile.badLineRate)) spoilLine(spec, position, rng);
    }
    if (index === largest && size > 1) {
      spec.lineFaults.set(rng.int(0, size - 1), { kind: 'content', content: 'x'.repeat(HUGE_CONTENT_BYTES) });
    }
    return spec;
  });
  return specs.sort((a, b) => a.submitAtMs - b.submitAtMs);
}

const weightsByIndex = (weights: number[]): Record<string, number> =>
  Object.fromEntries(weights.map((weight, i) => [String(i), weight]));

function shuffle<T>(items: T[], rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}

function outcomeFor(kind: BatchKind, rng: Rng): BatchOutcome | undefined {
  switch (kind) {
    case 'completed':
    case 'vanished':
      return undefined;
    case 'completed-no-output':
      return { status: 'completed', noOutput: true };
    case 'failed':
      return {
        status: 'failed',
        errors: [{ code: 'invalid_request', message: 'The batch input was rejected (chaos).', line: 1 }],
      };
    case 'expired':
    case 'cancelled':
      return { status: kind, completedFraction: 0.2 + 0.6 * rng.next() };
  }
}

function spoilLine(spec: BatchSpec, position: number, rng: Rng): void {
  const kind: BadLineKind = rng.weighted(BAD_LINE_WEIGHTS);
  const sentenceId = spec.firstSentenceId + position;
  const fault = (lineFault: LineFault) => spec.lineFaults.set(position, lineFault);
  switch (kind) {
    case 'error':
      return void fault({
        kind: 'error',
        code: rng.pick(ERROR_CODES),
        message: 'The server had an error while processing your request.\n\u001b[31m(injected)\u001b[0m',
      });
    case 'http':
      return void fault({ kind: 'http', status: rng.pick(HTTP_STATUSES), message: 'Injected failure.' });
    case 'content-shape':
      return void fault({ kind: 'content', content: rng.pick(CONTENT_SHAPES) });
    case 'unknown-viewpoint': {
      const huge = rng.chance(0.2);
      const ids = huge ? Array.from({ length: 10_000 }, (_, i) => 900_000 + i) : [201, 999_999];
      return void fault({ kind: 'content', content: JSON.stringify({ viewpoint_ids: ids }) });
    }
    case 'invalid-custom-id':
      return void spec.customIdOverrides.set(position, rng.pick(INVALID_CUSTOM_IDS)(sentenceId));
    case 'omit':
      return void fault({ kind: 'omit' });
    case 'garbage':
      return void fault({ kind: 'garbage', text: rng.pick(GARBAGE_LINES) });
    case 'duplicate':
      return void fault({ kind: 'duplicate' });
    case 'hostile':
      return void fault({ kind: 'content', content: rng.pick(HOSTILE_CONTENTS) });
  }
}

/** The catalogue the viewpoint prompts carry, as `{{catalogue}}` renders it. */
const VIEWPOINT_ENTRIES: readonly CatalogueEntry[] = CHAOS_CATALOGUE.map(({ id, name }) => ({
  key: String(id),
  label: name,
}));

/** A review sentence naming zero to three viewpoints of the catalogue (the classifier finds exactly those). */
function sentenceText(rng: Rng): string {
  const named = Array.from({ length: rng.int(0, 3) }, () => rng.pick(CHAOS_CATALOGUE).name);
  if (named.length === 0) return rng.pick(['Nothing to say really.', 'It was fine, I guess.', 'Meh.']);
  return `Honestly the ${named.join(' and the ')} ${rng.pick(['impressed me', 'was a letdown', 'stood out'])}.`;
}

export const customIdAt = (spec: BatchSpec, jobType: JobType, position: number): string =>
  spec.customIdOverrides.get(position) ?? jobType.customIdFor(spec.firstSentenceId + position);

/** Writes the batch's input file (OpenAI request lines of its job type); texts come from the batch's own generator. */
async function writeInputFile(
  spec: BatchSpec,
  jobType: JobType,
  catalogue: readonly CatalogueEntry[],
  path: string,
  rng: Rng,
): Promise<void> {
  const out = createWriteStream(path);
  const texts = rng.fork(`texts-${spec.index}`);
  const text = jobType.name === DEFAULT_JOB_TYPE ? sentenceText : reviewText;
  for (let position = 0; position < spec.size; position++) {
    const line = jobType.requestLine(
      'openai',
      { id: spec.firstSentenceId + position, fields: { text: text(texts) } },
      { model: MODEL, catalogue },
    );
    line.custom_id = customIdAt(spec, jobType, position);
    if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

export interface SubmittedBatch {
  spec: BatchSpec;
  providerBatchId: string;
  batchLogId: number;
  /** Milliseconds from the start of the run. */
  submittedAtMs: number;
}

export interface SubmitterDeps {
  emulator: Emulator;
  provider: BatchProvider;
  pool: Pool;
  jobTypes: JobTypeSet;
  /** The second job type's catalogue, as Postgres holds it. */
  secondCatalogue: readonly CatalogueEntry[];
  workDir: string;
  rng: Rng;
  /** The emulator's line-fault table, filled per batch before its upload. */
  lineFaults: Map<string, LineFault>;
  /** The run's clock (ms since the start). */
  elapsed(): number;
  onError(what: string, error: unknown): void;
}

/**
 * Submits the batches at their planned moments, as `batchline submit`/`track` would: upload and create at the
 * provider, then record the pending batch log (retried while Postgres is down — the harness is a client too).
 */
export async function submitBatches(
  specs: readonly BatchSpec[],
  deps: SubmitterDeps,
  signal: AbortSignal,
): Promise<SubmittedBatch[]> {
  const submitted: SubmittedBatch[] = [];
  for (const spec of specs) {
    const wait = spec.submitAtMs - deps.elapsed();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    submitted.push(await submitOne(spec, deps));
  }
  return submitted;
}

async function submitOne(spec: BatchSpec, deps: SubmitterDeps): Promise<SubmittedBatch> {
  const jobType = deps.jobTypes.named(spec.jobType);
  const catalogue = jobType.name === DEFAULT_JOB_TYPE ? VIEWPOINT_ENTRIES : deps.secondCatalogue;
  for (const [position, fault] of spec.lineFaults) {
    deps.lineFaults.set(customIdAt(spec, jobType, position), fault);
  }
  const inputPath = join(deps.workDir, `input-${spec.index}.jsonl`);
  await writeInputFile(spec, jobType, catalogue, inputPath, deps.rng);
  const batch = await deps.provider.uploadAndCreateBatch({
    inputPath,
    endpoint: jobType.batchEndpoint('openai'),
    metadata: { chaos_batch: String(spec.index) },
  });
  await rm(inputPath, { force: true });
  if (spec.kind === 'vanished') {
    // From its first status check on, the provider answers 404: it "forgot" the batch (docs/interface.md §3).
    deps.emulator.injectHttpFault({
      method: 'GET',
      path: new RegExp(`^/v1/batches/${batch.id}$`),
      status: 404,
      times: Number.POSITIVE_INFINITY,
    });
  }
  const batchLogId = await retryWhileDown(
    () =>
      insertBatchLog(deps.pool, {
        provider: 'openai',
        batchId: batch.id,
        model: MODEL,
        jobType: jobType.name,
        totalSentences: spec.size,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: 0,
      }),
    (error) => deps.onError(`recording batch ${spec.index}`, error),
  );
  return { spec, providerBatchId: batch.id, batchLogId: batchLogId.id, submittedAtMs: deps.elapsed() };
}

/** Retries an idempotent database write while the server is restarting (bounded: 3 minutes); tells the first failure. */
async function retryWhileDown<T>(
  write: () => Promise<T>,
  onFirstError: (error: unknown) => void,
): Promise<T> {
  const deadline = Date.now() + 180_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      if (attempt === 1) onFirstError(error);
      await sleep(500);
    }
  }
}

/** The outcome the emulator should script for a created batch, found through the run's metadata tag. */
export function scriptedOutcome(
  specs: readonly BatchSpec[],
  metadata: Record<string, string> | null,
): BatchOutcome | undefined {
  const index = metadata?.chaos_batch;
  return index === undefined ? undefined : specs.find((spec) => spec.index === Number(index))?.outcome;
}
