/**
 * `npm run bench:ingest -- --concurrent N` (issue 18, many batches at once): N batches of the generated file, each
 * with request ids of its own (renumbered copies, so that their rows' keys do not collide), registered together so
 * that the poller sees their provider completion within the same second, landed by two fetchers and two persisters
 * (and one poller and one notifier) in one set of processes. Against it, the shared reference lands the same N
 * files one after another.
 */
import { join } from 'node:path';
import type { Pool } from '@batchline/db';
import { waitFor } from '@batchline/testing';
import { API_KEY, benchDatabase } from './bench-batch.ts';
import {
  type FileSet,
  fileSetBatchId,
  startFileProvider,
  writeInputFileFor,
  writeRenumberedCopy,
} from './file-provider.ts';
import type { BenchJobTypes } from './job-types.ts';
import {
  checkLanded,
  type PipelineBatch,
  registerBatch,
  usageBetween,
  withPipeline,
} from './pipeline-run.ts';
import { type ProcessUsage, peakRssBytes } from './proc-stats.ts';
import {
  type GeneratedFile,
  generatorViewpoints,
  type ReferenceRun,
  requestIdsOf,
  runSharedReference,
  type SharedReference,
} from './shared-reference.ts';
import { GOALS, MIB, medianOf, mib, PROVIDER_SIDE, sumCpu, verdict } from './table.ts';

/** Replicas of the concurrent run; the poller and the notifier run once. */
export const CONCURRENT_REPLICAS = { fetcher: 2, persister: 2 } as const;

/** The n-th copy's request ids are this much higher than the generator's (its 50,000 ids stay below). */
const RENUMBER_STEP = 100_000;

export interface ConcurrentBatch {
  /** The poller saw the provider's `completed` (epoch seconds). */
  terminalAt: number;
  /** The bench saw status 2 (epoch seconds). */
  landedAt: number;
}

export interface ConcurrentRun {
  batches: ConcurrentBatch[];
  /** Peak RSS of every process (`fetcher 1`, `fetcher 2`, ...) after the last batch landed. */
  peakRss: Record<string, number>;
  /** CPU from registering the batches to the last one landed. */
  usage: Record<string, ProcessUsage>;
}

export interface ConcurrentFigures {
  file: string;
  path: 'submit' | 'track';
  outputBytes: number;
  count: number;
  rounds: { pipeline: ConcurrentRun; reference: ReferenceRun[] }[];
}

/** Registers every batch at once, then waits for all of them to land; checks each batch's outcomes and rows. */
async function landTogether(
  batches: readonly PipelineBatch[],
  options: {
    database: { url: string; name: string; pool: Pool };
    jobTypes: BenchJobTypes;
    serviceEnv: Record<string, string>;
    logPath?: string;
  },
): Promise<ConcurrentRun> {
  return withPipeline(
    { ...options, provider: batches[0]!, replicas: CONCURRENT_REPLICAS },
    async (pipeline) => {
      const { pool } = options.database;
      const usageBefore = await pipeline.usageNow();
      const ids: number[] = [];
      for (const batch of batches) ids.push(await registerBatch(pool, batch, 0));
      const landed = new Map<number, ConcurrentBatch>();
      // One query for all of them every 20 ms: each landing is seen within a few ms of its last chunk's commit.
      await waitFor(
        'every batch to land',
        async () => {
          const { rows } = await pool.query<{ id: number; terminalAt: number }>(
            `SELECT id::int, extract(epoch FROM provider_terminal_at)::float8 AS "terminalAt"
             FROM batch_jobs_vp_logs WHERE id = ANY($1::bigint[]) AND status <> 1`,
            [ids],
          );
          const now = Date.now() / 1000;
          for (const row of rows)
            if (!landed.has(row.id)) landed.set(row.id, { terminalAt: row.terminalAt, landedAt: now });
          return landed.size === ids.length || undefined;
        },
        { timeoutMs: 1_800_000, intervalMs: 20 },
      );
      const usage = usageBetween(usageBefore, await pipeline.usageNow());
      const peakRss = pipeline.perProcess(peakRssBytes);
      for (const [index, batch] of batches.entries()) await checkLanded(pool, batch, ids[index]!);
      return { batches: ids.map((id) => landed.get(id)!), peakRss, usage };
    },
  );
}

/** Runs `rounds` rounds of N batches at once through the pipeline (each path) and N in a row through the reference. */
export async function benchConcurrent(options: {
  reference: SharedReference;
  generated: GeneratedFile;
  file: string;
  count: number;
  paths: readonly ('submit' | 'track')[];
  rounds: number;
  workDir: string;
  jobTypes: BenchJobTypes;
  serviceEnv: Record<string, string>;
  logs?: string;
  progress: (line: string) => void;
}): Promise<ConcurrentFigures[]> {
  const { generated, file, count, jobTypes } = options;
  const sets: FileSet[] = [];
  for (let set = 0; set < count; set += 1) {
    const outputPath = set === 0 ? generated.path : join(options.workDir, `output-${file}-${set}.jsonl`);
    if (set > 0) await writeRenumberedCopy(generated.path, outputPath, set * RENUMBER_STEP);
    const inputPath = join(options.workDir, `input-${file}-${set}.jsonl`);
    await writeInputFileFor(outputPath, inputPath);
    sets.push({ outputPath, inputPath, lines: generated.lines });
  }
  const provider = await startFileProvider(API_KEY, sets);
  const figures = options.paths.map(
    (path): ConcurrentFigures => ({ file, path, outputBytes: generated.bytes, count, rounds: [] }),
  );
  try {
    for (let round = 1; round <= options.rounds; round += 1) {
      const reference: ReferenceRun[] = [];
      for (const set of sets) {
        const run = await runSharedReference(options.reference, 'stream-ref.mjs', set.outputPath, [
          '--fk',
          '--outcomes',
        ]);
        if (run.lines !== generated.lines || run.rows !== generated.assocRows)
          throw new Error(`WRONG RESULT: the reference landed ${run.rows} rows of ${run.lines} lines`);
        reference.push(run);
      }
      options.progress(
        `  round ${round} reference, ${count} in a row: ` +
          `${reference.reduce((sum, run) => sum + run.seconds, 0).toFixed(2)} s`,
      );
      for (const figure of figures) {
        const batches = sets.map(
          (_, set): PipelineBatch => ({
            jobType: jobTypes.set.default,
            baseUrl: provider.baseUrl,
            apiKey: API_KEY,
            providerBatchId: () => fileSetBatchId(`batch_bench_concurrent_${figure.path}_${round}`, set),
            inputFileId: provider.inputFileIds[set]!,
            requestIds: figure.path === 'submit' ? requestIdsOf(generated, set * RENUMBER_STEP) : null,
            totalRequests: generated.lines,
            expected: { results: generated.lines, succeeded: generated.okLines, rows: generated.assocRows },
          }),
        );
        const { db, pool } = await benchDatabase('concurrent', jobTypes, generatorViewpoints());
        try {
          const pipeline = await landTogether(batches, {
            database: { url: db.url, name: db.name, pool },
            jobTypes,
            serviceEnv: options.serviceEnv,
            logPath: options.logs && `${options.logs}.${file}.concurrent.${figure.path}.${round}.jsonl`,
          });
          figure.rounds.push({ pipeline, reference });
          options.progress(
            `  round ${round} pipeline ${figure.path}, ${count} at once: ${concurrentSeconds(pipeline).toFixed(2)} s`,
          );
        } finally {
          await pool.end();
          await db.drop();
        }
      }
    }
  } finally {
    await provider.close();
  }
  return figures;
}

/** From the first provider completion the poller saw to the last batch at status 2. */
export const concurrentSeconds = (run: ConcurrentRun): number =>
  Math.max(...run.batches.map((batch) => batch.landedAt)) -
  Math.min(...run.batches.map((batch) => batch.terminalAt));

/** Each round of each path: the totals and their ratio, the latencies' spread, CPU and memory, each beside its goal. */
export function printConcurrent(
  all: readonly ConcurrentFigures[],
  load: { before: string; after: string },
): void {
  const lines = [`load average before: ${load.before}; after: ${load.after} (2 cores)`];
  const seconds = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(', ');
  for (const f of all) {
    for (const [index, { pipeline, reference }] of f.rounds.entries()) {
      const total = concurrentSeconds(pipeline);
      const referenceTotal = reference.reduce((sum, run) => sum + run.seconds, 0);
      const latencies = pipeline.batches.map((batch) => batch.landedAt - batch.terminalAt);
      const median = medianOf(latencies);
      const spread = Math.max(...latencies) / median;
      const terminal = pipeline.batches.map((batch) => batch.terminalAt);
      const cpu = sumCpu(pipeline.usage);
      const referenceProcesses = reference.reduce((sum, run) => sum + run.cpuSeconds, 0);
      const referenceBackends = reference.reduce((sum, run) => sum + run.postgresCpuSeconds, 0);
      const referenceCpu = referenceProcesses + referenceBackends;
      const peaks = Object.entries(pipeline.peakRss);
      lines.push(
        `${f.count} batches at once, ${f.file} (${mib(f.outputBytes)} MiB each), ${f.path}, round ${index + 1} ` +
          `(${CONCURRENT_REPLICAS.fetcher} fetchers, ${CONCURRENT_REPLICAS.persister} persisters, 1 poller, 1 notifier):`,
        `  all landed in ${total.toFixed(2)} s (first completion → last status 2); the reference, ${f.count} one after ` +
          `another: ${referenceTotal.toFixed(2)} s; ratio ${(total / referenceTotal).toFixed(2)} — goal ≤ ` +
          `${GOALS.wallRatio}: ${verdict(total / referenceTotal <= GOALS.wallRatio)}`,
        `  provider completions seen within ${(Math.max(...terminal) - Math.min(...terminal)).toFixed(2)} s`,
        `  latency (completion → status 2): median ${median.toFixed(2)} s, max ${Math.max(...latencies).toFixed(2)} s, ` +
          `max/median ${spread.toFixed(2)} — goal ≤ ${GOALS.latencySpread}: ${verdict(spread <= GOALS.latencySpread)}; ` +
          `each: ${seconds(latencies)}`,
        `  CPU-s: pipeline ${cpu.toFixed(2)} (${Object.entries(pipeline.usage)
          .map(([name, usage]) => `${name} ${usage.cpuSeconds.toFixed(2)}`)
          .join(', ')}); reference ${referenceCpu.toFixed(2)} (processes ${referenceProcesses.toFixed(2)}, ` +
          `backends ${referenceBackends.toFixed(2)}); ratio ${(cpu / referenceCpu).toFixed(2)} — goal ≤ ` +
          `${GOALS.cpuRatio}: ${verdict(cpu / referenceCpu <= GOALS.cpuRatio)}`,
        `  peak RSS MiB: ${peaks.map(([name, bytes]) => `${name} ${mib(bytes)}`).join(', ')} — goal ≤ ` +
          `${GOALS.serviceRssMiB} each: ${verdict(peaks.every(([, bytes]) => bytes <= GOALS.serviceRssMiB * MIB))}; ` +
          `reference (largest of its runs) ${mib(Math.max(...reference.map((run) => run.peakRssBytes)))}`,
        `  reference runs s: ${seconds(reference.map((run) => run.seconds))}`,
      );
    }
  }
  lines.push(
    '',
    `CPU-s: every process from registering the batches to the last landed (not counted: ${PROVIDER_SIDE}, the`,
    "  provider's side); reference: its processes and their Postgres backends, whole processes, start-up included.",
  );
  console.log(lines.join('\n'));
}
