/**
 * `npm run bench:ingest`: lands the shared reference's generated batch output files (`shared/perf-reference`,
 * gen.mjs: 50,000 lines, ~40 MB and ~200 MB) through the real services, each its own process, against the local
 * NATS and Postgres — as a submitted batch (`submit`: request ids recorded) and as an adopted one (`track`: input
 * file read) — and, in the same rounds, through the shared reference's single-process `stream-ref.mjs --fk
 * --outcomes`. Prints wall time, CPU seconds of every process, peak RSS and ratios, each beside its goal (issue
 * 18). Exits non-zero only on a wrong result (rows, counts), never on a slow one.
 *
 * On the ~40 MB file the pipeline also lands, in the same rounds, a batch of another job type on the same number of
 * lines (review_sentiment, or `--job-type NAME` of examples/job-types/; `none` to skip), served by the emulator.
 *
 * `--concurrent N` instead lands N batches of the file at once (two fetchers, two persisters) against the reference
 * landing them one after another (bench/ingest/concurrent.ts); its files default to the ~40 MB one.
 *
 *   npm run bench:ingest -- [--files 40mb,200mb] [--paths submit,track] [--rounds 3] [--batches 1] [--monolith]
 *                           [--concurrent N] [--profile DIR]
 *                           [--job-type review_sentiment|review_embeddings|none] [--env NAME=VALUE ...] [--logs PATH]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Viewpoint } from '@batchline/domain';
import { DEFAULT_JOB_TYPE, type JobType } from '@batchline/job-types';
import { API_KEY, benchDatabase, prepareBatch } from './ingest/bench-batch.ts';
import { benchConcurrent, type ConcurrentFigures, printConcurrent } from './ingest/concurrent.ts';
import { startFileProvider, writeInputFileFor } from './ingest/file-provider.ts';
import { benchJobTypes, DEFAULT_COMPARED_JOB_TYPE, formatComparison } from './ingest/job-types.ts';
import { type PipelineBatch, type PipelineRun, runPipeline } from './ingest/pipeline-run.ts';
import {
  generatorViewpoints,
  installSharedReference,
  requestIdsOf,
  runSharedReference,
} from './ingest/shared-reference.ts';
import { type PathFigures, printTable } from './ingest/table.ts';

const jobTypes = benchJobTypes();
const FILES: Record<string, { padToMb: number }> = { '40mb': { padToMb: 0 }, '200mb': { padToMb: 200 } };
const PATHS = ['submit', 'track'] as const;
type Path = (typeof PATHS)[number];

const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const { values } = parseArgs({
  options: {
    /** Default: both, or the ~40 MB one with --concurrent. */
    files: { type: 'string' },
    paths: { type: 'string', default: PATHS.join(',') },
    /** Rounds; each figure is the median of the rounds. */
    rounds: { type: 'string', default: '3' },
    /** Batches landed one after another in the same service processes (memory flatness: 11). */
    batches: { type: 'string', default: '1' },
    /** Lands this many batches at once instead (issue 18: 8), with two fetchers and two persisters. */
    concurrent: { type: 'string' },
    /** Also runs the shared reference's naive monolith.mjs. */
    monolith: { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    /** Writes each service's CPU profile and memory samples into this folder (bench/ingest/profile-preload.mjs). */
    profile: { type: 'string' },
    logs: { type: 'string' },
    'job-type': { type: 'string', default: DEFAULT_COMPARED_JOB_TYPE },
  },
});
const concurrent = values.concurrent === undefined ? 0 : Number(values.concurrent);
if (!Number.isInteger(concurrent) || concurrent < 0) throw new Error(`--concurrent takes a count of batches`);
const files = (values.files ?? (concurrent > 0 ? '40mb' : '40mb,200mb'))
  .split(',')
  .map((name) => name.trim());
for (const file of files)
  if (!FILES[file]) throw new Error(`unknown file ${file}; use ${Object.keys(FILES)}`);
const paths = values.paths.split(',').map((name) => name.trim() as Path);
for (const path of paths) if (!PATHS.includes(path)) throw new Error(`unknown path ${path}; use ${PATHS}`);
const rounds = Number(values.rounds);
const landings = Number(values.batches);
const serviceEnv = Object.fromEntries(
  values.env.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--env takes NAME=VALUE, not ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
if (values.profile) {
  const preload = new URL('./ingest/profile-preload.mjs', import.meta.url).pathname;
  Object.assign(serviceEnv, { NODE_OPTIONS: `--import=${preload}`, BENCH_PROFILE_DIR: values.profile });
}
const compared = values['job-type'] === 'none' ? null : jobTypes.set.named(values['job-type']);
if (compared?.name === DEFAULT_JOB_TYPE)
  throw new Error(`--job-type names the job type to compare with ${DEFAULT_JOB_TYPE}`);

/** Lands `batch` in a fresh database (by default with the bench's own catalogue, as the emulator answers it). */
async function landInFreshDatabase(
  batch: PipelineBatch,
  logPath: string | undefined,
  viewpoints?: Viewpoint[],
): Promise<PipelineRun> {
  const { db, pool } = await benchDatabase('pipeline', jobTypes, viewpoints);
  try {
    return await runPipeline({
      batch,
      landings,
      database: { url: db.url, name: db.name, pool },
      jobTypes,
      serviceEnv,
      logPath,
    });
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function comparedJobType(jobType: JobType, workDir: string, logPath: string | undefined) {
  const batch = await prepareBatch(workDir, 50_000, 0, jobType, jobTypes);
  try {
    const succeeded = batch.oracle.outcomes.filter((outcome) => outcome.outcome === 'succeeded').length;
    const run = await landInFreshDatabase(
      {
        jobType,
        baseUrl: batch.emulator.baseUrl,
        apiKey: API_KEY,
        providerBatchId: () => batch.providerBatchId,
        inputFileId: batch.inputFileId,
        requestIds: batch.requestIds,
        totalRequests: batch.oracle.outcomes.length,
        expected: { results: batch.oracle.outcomes.length, succeeded, rows: batch.expectedAssociations },
      },
      logPath,
    );
    return { seconds: run.landings[0]!.seconds, rows: batch.expectedAssociations };
  } finally {
    await batch.emulator.close();
  }
}

const loadBefore = loadAverage();
const reference = await installSharedReference();
const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-'));
const all: PathFigures[] = [];
const concurrentFigures: ConcurrentFigures[] = [];
const comparison = { viewpointRows: 0, viewpointRounds: [] as number[], rounds: [] as number[], rows: 0 };
try {
  for (const file of files) {
    const generated = await reference.generate(FILES[file]!.padToMb);
    process.stderr.write(
      `${file}: ${generated.lines} lines, ${(generated.bytes / 1e6).toFixed(1)} MB, ${generated.assocRows} ` +
        `associations (load ${loadAverage()})\n`,
    );
    if (concurrent > 0) {
      concurrentFigures.push(
        ...(await benchConcurrent({
          reference,
          generated,
          file,
          count: concurrent,
          paths,
          rounds,
          workDir,
          jobTypes,
          serviceEnv,
          logs: values.logs,
          progress: (line) => process.stderr.write(`${line} (load ${loadAverage()})\n`),
        })),
      );
      continue;
    }
    const inputPath = join(workDir, `input-${file}.jsonl`);
    await writeInputFileFor(generated.path, inputPath);
    const provider = await startFileProvider(API_KEY, [
      { outputPath: generated.path, inputPath, lines: generated.lines },
    ]);
    const figures = Object.fromEntries(
      paths.map((path): [Path, PathFigures] => [
        path,
        {
          file,
          path,
          outputBytes: generated.bytes,
          lines: generated.lines,
          rows: generated.assocRows,
          pipeline: [],
          reference: [],
          monolith: [],
        },
      ]),
    ) as Record<Path, PathFigures>;
    try {
      // Rounds side by side, so that a burst of other load on the machine hits all contenders alike.
      for (let round = 1; round <= rounds; round += 1) {
        const ref = await runSharedReference(reference, 'stream-ref.mjs', generated.path, [
          '--fk',
          '--outcomes',
        ]);
        if (ref.lines !== generated.lines || ref.rows !== generated.assocRows)
          throw new Error(`WRONG RESULT: the reference landed ${ref.rows} rows of ${ref.lines} lines`);
        process.stderr.write(
          `  round ${round} reference ${ref.seconds.toFixed(2)} s (load ${loadAverage()})\n`,
        );
        const monolith = values.monolith
          ? await runSharedReference(reference, 'monolith.mjs', generated.path, ['--fk'])
          : null;
        for (const path of paths) {
          figures[path].reference.push(ref);
          if (monolith) figures[path].monolith.push(monolith);
          const run = await landInFreshDatabase(
            {
              jobType: jobTypes.set.default,
              baseUrl: provider.baseUrl,
              apiKey: API_KEY,
              providerBatchId: (landing) => `batch_bench_${path}_${round}_${landing}`,
              inputFileId: provider.inputFileIds[0]!,
              requestIds: path === 'submit' ? requestIdsOf(generated) : null,
              totalRequests: generated.lines,
              expected: { results: generated.lines, succeeded: generated.okLines, rows: generated.assocRows },
            },
            values.logs && `${values.logs}.${file}.${path}.${round}.jsonl`,
            generatorViewpoints(),
          );
          figures[path].pipeline.push(run);
          process.stderr.write(
            `  round ${round} pipeline ${path} ${run.landings.map((l) => l.seconds.toFixed(2)).join(', ')} s ` +
              `(load ${loadAverage()})\n`,
          );
          if (file === '40mb' && path === paths[0]) comparison.viewpointRounds.push(run.landings[0]!.seconds);
        }
        if (compared && file === '40mb') {
          const other = await comparedJobType(
            compared,
            workDir,
            values.logs && `${values.logs}.${compared.name}.${round}.jsonl`,
          );
          comparison.rounds.push(other.seconds);
          comparison.rows = other.rows;
          comparison.viewpointRows = generated.assocRows;
          process.stderr.write(
            `  round ${round} pipeline of ${compared.name} ${other.seconds.toFixed(2)} s\n`,
          );
        }
      }
    } finally {
      await provider.close();
    }
    all.push(...paths.map((path) => figures[path]));
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
if (concurrent > 0) printConcurrent(concurrentFigures, { before: loadBefore, after: loadAverage() });
else printTable(all, { before: loadBefore, after: loadAverage() });
if (compared && comparison.rounds.length > 0) {
  console.log(
    `\n${formatComparison({ jobType: compared.name, lines: 50_000, ...comparison })}\n` +
      `  (specific_viewpoint on the shared generator's file, ${compared.name} on the emulator's answers)`,
  );
}
