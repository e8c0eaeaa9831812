/**
 * `npm run bench:ingest`: lands a 50,000-request batch (a ~40 MB output file, and a ~200 MB one with long lines)
 * through the real services, each its own process, against the local NATS and Postgres, and — in the same run, on
 * the same file and schema — through a single-process streaming COPY reference and a naive whole-file monolith.
 * Prints one table: time from the provider's `completed` to status 2, rows/s, peak RSS of every process, ratios.
 *
 * On the ~800-byte-line file the pipeline also lands, in the same rounds, a batch of another job type with the same
 * number of lines (review_sentiment, or `--job-type NAME` of examples/job-types/; `none` to skip), and prints both
 * times and their ratio.
 *
 *   npm run bench:ingest -- [--files 40mb,200mb] [--requests 50000] [--repeat 3] [--only pipeline,reference,monolith]
 *                           [--job-type review_sentiment|review_embeddings|none] [--env NAME=VALUE ...] [--logs PATH]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { connectBus } from '@batchline/bus';
import { getBatchLog, insertBatchLog, type Pool } from '@batchline/db';
import { DEFAULT_JOB_TYPE, type JobType } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { pipelineEnv, startPipeline, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import { API_KEY, type BenchBatch, benchDatabase, checkLanded, prepareBatch } from './ingest/bench-batch.ts';
import type { ContenderInput, ContenderReport } from './ingest/contender.ts';
import {
  benchJobTypes,
  DEFAULT_COMPARED_JOB_TYPE,
  formatComparison,
  type JobTypeComparison,
  landedRows,
} from './ingest/job-types.ts';
import {
  addUsage,
  NO_USAGE,
  type ProcessUsage,
  peakRssBytes,
  processUsage,
  residentBytes,
  usageSince,
} from './ingest/proc-stats.ts';
import { type FileFigures, median, type PipelineFigures, printTable } from './ingest/table.ts';

const log = createLogger({ service: 'bench', level: 'silent' });
const run = promisify(execFile);
const MIB = 1024 * 1024;
const jobTypes = benchJobTypes();

/** The two files of the issue: ~800-byte lines, and the same answers padded to ~4 KB lines. */
const FILES: Record<string, { padBytes: number }> = {
  '40mb': { padBytes: 0 },
  '200mb': { padBytes: 3200 },
};

type Contender = 'pipeline' | 'reference' | 'monolith';

/**
 * CPU used so far by the Postgres backends connected to one database (this machine's server): the connections
 * of the pools stay open across the batch, so the difference of two readings is their work.
 */
async function databaseUsage(pool: Pool, database: string): Promise<ProcessUsage> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
    database,
  ]);
  let total = NO_USAGE;
  for (const { pid } of rows) {
    try {
      total = addUsage(total, processUsage(pid));
    } catch {
      // The backend ended in between.
    }
  }
  return total;
}

async function runContender(script: 'reference' | 'monolith', batch: BenchBatch): Promise<ContenderReport> {
  const { db, pool } = await benchDatabase(script, jobTypes);
  try {
    const input: ContenderInput = {
      databaseUrl: db.url,
      fileUrl: `${batch.emulator.baseUrl}/files/${batch.outputFileId}/content`,
      apiKey: API_KEY,
      batchLogId: 1,
    };
    const scriptPath = new URL(`./ingest/${script}.ts`, import.meta.url).pathname;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', scriptPath, JSON.stringify(input)], {
      maxBuffer: 16 * MIB,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as ContenderReport;
    checkLanded(script, batch, await landedRows(pool, batch.jobType));
    return report;
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function runPipeline(
  batch: BenchBatch,
  serviceEnv: Record<string, string>,
  logPath: string | undefined,
): Promise<PipelineFigures> {
  const { db, pool } = await benchDatabase('pipeline', jobTypes);
  const namespace = testNamespace('bench');
  const bus = await connectBus({ servers: [testNatsUrl()], name: 'bench', namespace, log });
  await bus.ensureTopology();
  const pipeline = startPipeline(
    pipelineEnv({
      databaseUrl: db.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: batch.emulator.baseUrl,
      extra: {
        OPENAI_API_KEY: API_KEY,
        BATCHLINE_JOB_TYPES: jobTypes.setting,
        // The batch is over before it is tracked: its first check finds it so. The measured span starts there.
        POLL_SCHEDULE: '100ms',
        POLL_TICK: '1s',
        LOG_LEVEL: logPath ? 'debug' : 'info',
        ...serviceEnv,
      },
    }),
  );
  try {
    await waitFor(
      'every service to start',
      () =>
        pipeline.services.every((service) => service.child.exitCode === null) &&
        pipeline.services.every((service) =>
          pipeline.logs.some((entry) => entry.service === service.name && entry.line.includes('started')),
        ),
      { timeoutMs: 60_000 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${pipeline.logs.map((entry) => entry.line).join('\n')}`);
    });
    const perService = <T>(read: (pid: number) => T): Record<string, T> =>
      Object.fromEntries(pipeline.services.map((service) => [service.name, read(service.pid)]));
    const idleRss = perService(residentBytes);
    const usageNow = async (): Promise<Record<string, ProcessUsage>> => ({
      ...perService(processUsage),
      postgres: await databaseUsage(pool, db.name),
      'bench (emulator)': processUsage(),
    });
    const usageBefore = await usageNow();

    const { id: batchLogId } = await insertBatchLog(pool, {
      provider: 'openai',
      batchId: batch.providerBatchId,
      model: 'gpt-4o-mini',
      jobType: batch.jobType.name,
      totalSentences: batch.oracle.outcomes.length,
      inputFileId: batch.inputFileId,
      firstPollDelayMs: 0,
      requestIds: batch.requestIds,
    });
    // Polled on one connection, so the status is seen within a few ms of the last chunk's commit.
    const seenFinal = await waitFor(
      'the batch to land',
      async () => {
        const { rows } = await pool.query<{ final: boolean; terminalAt: number }>(
          `SELECT status <> 1 AS final, extract(epoch FROM provider_terminal_at)::float8 AS "terminalAt"
           FROM batch_jobs_vp_logs WHERE id = $1`,
          [batchLogId],
        );
        return rows[0]?.final ? { at: Date.now() / 1000, terminalAt: rows[0].terminalAt } : undefined;
      },
      { timeoutMs: 600_000, intervalMs: 20 },
    );
    const peakRss = perService(peakRssBytes);
    const usage = Object.fromEntries(
      Object.entries(await usageNow()).map(([name, after]) => [
        name,
        usageSince(usageBefore[name] ?? NO_USAGE, after),
      ]),
    );
    const landed = await getBatchLog(pool, batchLogId);
    if (landed?.status !== 2) throw new Error(`the pipeline ended the batch with status ${landed?.status}`);
    const counts = await landedRows(pool, batch.jobType);
    checkLanded('the pipeline', batch, counts);
    return {
      seconds: seenFinal.at - seenFinal.terminalAt,
      ...counts,
      peakRss,
      idleRss,
      usage,
    };
  } finally {
    await pipeline.stop();
    if (logPath) await writeFile(logPath, pipeline.logs.map((entry) => `${entry.line}\n`).join(''));
    await bus.deleteTopology();
    await bus.drain();
    await pool.end();
    await db.drop();
  }
}

async function benchFile(
  file: string,
  requests: number,
  contenders: ReadonlySet<Contender>,
  repeat: number,
  serviceEnv: Record<string, string>,
  logPath: string | undefined,
  compared: JobType | null,
): Promise<{ figures: FileFigures; comparison: JobTypeComparison | null }> {
  const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-'));
  const { padBytes } = FILES[file]!;
  const batch = await prepareBatch(workDir, requests, padBytes, jobTypes.set.default, jobTypes);
  // The other job type runs on the plain file only (its answers are its own, never padded), in the same rounds.
  const other =
    compared && padBytes === 0 && contenders.has('pipeline')
      ? await prepareBatch(workDir, requests, 0, compared, jobTypes)
      : null;
  const otherRounds: number[] = [];
  try {
    process.stderr.write(
      `${file}: ${requests} requests, output file ${(batch.outputBytes / MIB).toFixed(1)} MiB, ` +
        `${batch.expectedAssociations} associations\n`,
    );
    const runs: { [C in Contender]: { seconds: number }[] } = { reference: [], monolith: [], pipeline: [] };
    // Rounds of one run each, side by side, so that a burst of other load on the machine hits all alike.
    for (let round = 1; round <= repeat; round += 1) {
      for (const who of CONTENDERS) {
        if (!contenders.has(who)) continue;
        const figures =
          who === 'pipeline'
            ? await runPipeline(batch, serviceEnv, logPath && `${logPath}.${file}.${round}.jsonl`)
            : await runContender(who, batch);
        runs[who].push(figures);
        process.stderr.write(`  round ${round} ${who.padEnd(9)} ${figures.seconds.toFixed(2)} s\n`);
        if (who === 'pipeline' && other) {
          const { seconds } = await runPipeline(
            other,
            serviceEnv,
            logPath && `${logPath}.${other.jobType.name}.${round}.jsonl`,
          );
          otherRounds.push(seconds);
          process.stderr.write(
            `  round ${round} pipeline of ${other.jobType.name} ${seconds.toFixed(2)} s\n`,
          );
        }
      }
    }
    const reference = median(runs.reference as ContenderReport[]);
    const monolith = median(runs.monolith as ContenderReport[]);
    const pipeline = median(runs.pipeline as PipelineFigures[]);
    const figures: FileFigures = {
      file,
      lines: batch.oracle.outcomes.length,
      outputBytes: batch.outputBytes,
      associations: batch.expectedAssociations,
      pipeline,
      reference,
      monolith,
      rounds: Object.fromEntries(
        Object.entries(runs).flatMap(([who, list]) =>
          list.length > 0 ? [[who, list.map((run) => run.seconds)]] : [],
        ),
      ),
    };
    const comparison: JobTypeComparison | null = other && {
      jobType: other.jobType.name,
      lines: other.oracle.outcomes.length,
      viewpointRows: batch.expectedAssociations,
      rows: other.expectedAssociations,
      viewpointRounds: runs.pipeline.map((run) => run.seconds),
      rounds: otherRounds,
    };
    return { figures, comparison };
  } finally {
    await batch.emulator.close();
    await other?.emulator.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

const CONTENDERS: readonly Contender[] = ['pipeline', 'reference', 'monolith'];
const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '40mb,200mb' },
    requests: { type: 'string', default: '50000' },
    /** Rounds per file; the table shows the run of median time of each contender. */
    repeat: { type: 'string', default: '3' },
    /** Which of pipeline, reference, monolith to run (all by default). */
    only: { type: 'string', default: CONTENDERS.join(',') },
    /** Extra environment of the services, e.g. `--env PERSISTER_CONCURRENCY=2` (repeatable). */
    env: { type: 'string', multiple: true, default: [] },
    /** Writes the services' debug logs to `<path>.<file>.<round>.jsonl`. */
    logs: { type: 'string' },
    /** The job type landed beside specific_viewpoint on the plain file (a name of examples/job-types/, or none). */
    'job-type': { type: 'string', default: DEFAULT_COMPARED_JOB_TYPE },
  },
});
const files = values.files.split(',').map((name) => name.trim());
for (const file of files)
  if (!FILES[file]) throw new Error(`unknown file ${file}; use ${Object.keys(FILES)}`);
const contenders = new Set(values.only.split(',').map((name) => name.trim() as Contender));
for (const name of contenders) if (!CONTENDERS.includes(name)) throw new Error(`unknown contender ${name}`);
const serviceEnv = Object.fromEntries(
  values.env.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--env takes NAME=VALUE, not ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
const compared = values['job-type'] === 'none' ? null : jobTypes.set.named(values['job-type']);
if (compared?.name === DEFAULT_JOB_TYPE)
  throw new Error(`--job-type names the job type to compare with ${DEFAULT_JOB_TYPE}`);
const figures: FileFigures[] = [];
const comparisons: JobTypeComparison[] = [];
for (const file of files) {
  const { figures: fileFigures, comparison } = await benchFile(
    file,
    Number(values.requests),
    contenders,
    Number(values.repeat),
    serviceEnv,
    values.logs,
    compared,
  );
  figures.push(fileFigures);
  if (comparison) comparisons.push(comparison);
}
printTable(figures);
for (const comparison of comparisons) console.log(`\n${formatComparison(comparison)}`);
