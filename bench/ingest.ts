/**
 * `npm run bench:ingest`: lands a 50,000-request batch (a ~40 MB output file, and a ~200 MB one with long lines)
 * through the real services, each its own process, against the local NATS and Postgres, and — in the same run, on
 * the same file and schema — through a single-process streaming COPY reference and a naive whole-file monolith.
 * Prints one table: time from the provider's `completed` to status 2, rows/s, peak RSS of every process, ratios.
 *
 *   npm run bench:ingest -- [--files 40mb,200mb] [--requests 50000] [--repeat 3] [--only pipeline,reference,monolith]
 *                           [--env NAME=VALUE ...] [--logs PATH]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { connectBus } from '@batchline/bus';
import { createPool, getBatchLog, insertBatchLog, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { type Emulator, type ExpectedBatchOutcomes, startEmulator } from '@batchline/emulator';
import { createLogger } from '@batchline/logging';
import { createOpenAIProvider } from '@batchline/providers';
import {
  createTestDatabase,
  pipelineEnv,
  startPipeline,
  type TestDatabase,
  testNamespace,
  testNatsUrl,
  waitFor,
} from '@batchline/testing';
import type { ContenderInput, ContenderReport } from './ingest/contender.ts';
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
import { benchSentences, benchViewpoints, paddedAnswers, writeRequestFile } from './ingest/workload.ts';

const log = createLogger({ service: 'bench', level: 'silent' });
const run = promisify(execFile);
const API_KEY = 'sk-bench-0000000000000000';
const MIB = 1024 * 1024;

/** The two files of the issue: ~800-byte lines, and the same answers padded to ~4 KB lines. */
const FILES: Record<string, { padBytes: number }> = {
  '40mb': { padBytes: 0 },
  '200mb': { padBytes: 3200 },
};

interface BenchBatch {
  emulator: Emulator;
  providerBatchId: string;
  inputFileId: string;
  outputFileId: string;
  outputBytes: number;
  /** The review_sentence_ids of the requests, recorded with the batch as `batchline submit` records them. */
  sentenceIds: number[];
  oracle: ExpectedBatchOutcomes;
  expectedAssociations: number;
}

type Contender = 'pipeline' | 'reference' | 'monolith';

async function prepareBatch(workDir: string, requests: number, padBytes: number): Promise<BenchBatch> {
  const emulator = await startEmulator({
    apiKey: API_KEY,
    dataDir: join(workDir, 'emulator'),
    clock: { validatingMs: 0, inProgressMs: 0, finalizingMs: 0 },
    lineFaults: padBytes > 0 ? paddedAnswers(padBytes) : undefined,
  });
  const inputPath = join(workDir, 'input.jsonl');
  const sentences = benchSentences(requests);
  await writeRequestFile(inputPath, sentences);
  const provider = createOpenAIProvider({ apiKey: API_KEY, baseURL: emulator.baseUrl });
  const created = await provider.uploadAndCreateBatch({ inputPath, endpoint: '/v1/chat/completions' });
  // The batch is over at once; asking for the oracle writes its result files before anything is timed.
  const oracle = await emulator.expectedOutcomes(created.id);
  const batch = await provider.getBatch(created.id);
  if (batch.status !== 'completed' || !batch.outputFileId || !batch.inputFileId) {
    throw new Error(`the emulated batch did not complete with an output file (${batch.status})`);
  }
  const file = (await (
    await fetch(`${emulator.baseUrl}/files/${batch.outputFileId}`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    })
  ).json()) as { bytes: number };
  const expectedAssociations = oracle.outcomes.reduce(
    (sum, outcome) => sum + (outcome.outcome === 'succeeded' ? outcome.viewpointIds.length : 0),
    0,
  );
  return {
    emulator,
    providerBatchId: batch.id,
    inputFileId: batch.inputFileId,
    outputFileId: batch.outputFileId,
    outputBytes: file.bytes,
    sentenceIds: sentences.map((sentence) => sentence.reviewSentenceId),
    oracle,
    expectedAssociations,
  };
}

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

/** A fresh database with the schema and the bench catalogue: every contender gets its own. */
async function benchDatabase(label: string): Promise<{ db: TestDatabase; pool: Pool }> {
  const db = await createTestDatabase(`bench_${label}`);
  const pool = createPool({ connectionString: db.url, log, applicationName: 'bench' });
  await migrate(pool, log);
  await upsertViewpoints(pool, benchViewpoints());
  return { db, pool };
}

async function landedRows(pool: Pool): Promise<{ results: number; associations: number }> {
  const { rows } = await pool.query<{ results: number; associations: number }>(
    `SELECT (SELECT count(*) FROM batch_request_results)::int AS results,
            (SELECT count(*) FROM review_sentences_wl_spec_vp)::int AS associations`,
  );
  return rows[0]!;
}

function checkLanded(who: string, batch: BenchBatch, landed: { results: number; associations: number }) {
  if (landed.results !== batch.oracle.outcomes.length || landed.associations !== batch.expectedAssociations) {
    throw new Error(
      `${who} landed ${landed.results} outcomes and ${landed.associations} associations; expected ` +
        `${batch.oracle.outcomes.length} and ${batch.expectedAssociations}`,
    );
  }
}

async function runContender(script: 'reference' | 'monolith', batch: BenchBatch): Promise<ContenderReport> {
  const { db, pool } = await benchDatabase(script);
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
    checkLanded(script, batch, await landedRows(pool));
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
  const { db, pool } = await benchDatabase('pipeline');
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
      totalSentences: batch.oracle.outcomes.length,
      inputFileId: batch.inputFileId,
      firstPollDelayMs: 0,
      requestIds: batch.sentenceIds,
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
    const counts = await landedRows(pool);
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
): Promise<FileFigures> {
  const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-'));
  const batch = await prepareBatch(workDir, requests, FILES[file]!.padBytes);
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
      }
    }
    const reference = median(runs.reference as ContenderReport[]);
    const monolith = median(runs.monolith as ContenderReport[]);
    const pipeline = median(runs.pipeline as PipelineFigures[]);
    return {
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
  } finally {
    await batch.emulator.close();
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
const figures: FileFigures[] = [];
for (const file of files) {
  figures.push(
    await benchFile(
      file,
      Number(values.requests),
      contenders,
      Number(values.repeat),
      serviceEnv,
      values.logs,
    ),
  );
}
printTable(figures);
