/**
 * Lands batches through the real services, each its own compiled process (or several: `withPipeline`'s replicas),
 * on the local NATS and Postgres: one after another in the same processes, so that a service's memory after the
 * first batch and after the tenth compare. Measures each batch from the provider's `completed` (as the poller saw
 * it) to status 2, the CPU of every process (services, the database's Postgres backends, nats-server, the bench
 * serving the files) and the peak RSS of every service after each batch.
 */
import { writeFile } from 'node:fs/promises';
import { connectBus } from '@batchline/bus';
import { getBatchLog, insertBatchLog, type Pool } from '@batchline/db';
import type { JobType } from '@batchline/job-types';
import { createLogger } from '@batchline/logging';
import { PIPELINE_SERVICES, type ServiceName } from '@batchline/supervisor';
import { pipelineEnv, startPipeline, testNamespace, testNatsUrl, waitFor } from '@batchline/testing';
import type { BenchJobTypes } from './job-types.ts';
import {
  databaseUsage,
  NO_USAGE,
  natsServerUsage,
  type ProcessUsage,
  peakRssBytes,
  processUsage,
  residentBytes,
  usageSince,
} from './proc-stats.ts';
import { PROVIDER_SIDE } from './table.ts';

const log = createLogger({ service: 'bench', level: 'silent' });

/** What the pipeline is asked to land, and what it must land. */
export interface PipelineBatch {
  jobType: JobType;
  /** The provider's base URL (the emulator, or the bench's file server). */
  baseUrl: string;
  apiKey: string;
  /** The provider batch id of the n-th landing (each landing is a batch of its own). */
  providerBatchId: (landing: number) => string;
  inputFileId: string;
  /** Recorded at submission (`submit`), or null: learned from the input file (`track`). */
  requestIds: number[] | string[] | null;
  totalRequests: number;
  expected: { results: number; succeeded: number; rows: number };
}

export interface LandingFigures {
  seconds: number;
  /** Peak RSS of every service process since it started, read after this landing. */
  peakRss: Record<string, number>;
}

export interface PipelineRun {
  landings: LandingFigures[];
  /** CPU while the first batch landed: each service, `postgres` (the database's backends), `nats-server`, bench. */
  usage: Record<string, ProcessUsage>;
  idleRss: Record<string, number>;
}

/** The pipeline's processes, started and ready, with what the bench reads of them. */
export interface BenchPipeline {
  /** Each process's label (its service's name; `fetcher 1`, `fetcher 2` for replicas) and pid. */
  processes: { label: string; pid: number }[];
  perProcess<T>(read: (pid: number) => T): Record<string, T>;
  /** CPU so far: each process, `postgres` (the database's backends), `nats-server`, the bench itself. */
  usageNow(): Promise<Record<string, ProcessUsage>>;
}

/**
 * Runs the pipeline's services as processes (`replicas` of a service: that many processes of it) against the
 * database and a fresh subject namespace, waits for every one to start, hands them to `use`, and stops them.
 */
export async function withPipeline<T>(
  options: {
    provider: { baseUrl: string; apiKey: string };
    database: { url: string; name: string; pool: Pool };
    jobTypes: BenchJobTypes;
    serviceEnv: Record<string, string>;
    replicas?: Partial<Record<ServiceName, number>>;
    logPath?: string;
  },
  use: (pipeline: BenchPipeline) => Promise<T>,
): Promise<T> {
  const { database } = options;
  const namespace = testNamespace('bench');
  const bus = await connectBus({ servers: [testNatsUrl()], name: 'bench', namespace, log });
  await bus.ensureTopology();
  const names = PIPELINE_SERVICES.flatMap((name) =>
    Array.from({ length: options.replicas?.[name] ?? 1 }, () => name),
  );
  const pipeline = startPipeline(
    pipelineEnv({
      databaseUrl: database.url,
      natsUrl: testNatsUrl(),
      namespace,
      openaiBaseUrl: options.provider.baseUrl,
      extra: {
        OPENAI_API_KEY: options.provider.apiKey,
        BATCHLINE_JOB_TYPES: options.jobTypes.setting,
        // The batch is over before it is tracked: its first check finds it so. The measured span starts there.
        POLL_SCHEDULE: '100ms',
        POLL_TICK: '1s',
        LOG_LEVEL: options.logPath ? 'debug' : 'info',
        ...options.serviceEnv,
      },
    }),
    names,
  );
  try {
    await waitFor(
      'every service to start',
      () =>
        pipeline.services.every((service) => service.child.exitCode === null) &&
        pipeline.services.every(
          (service) =>
            pipeline.logs.filter((entry) => entry.service === service.name && entry.line.includes('started'))
              .length >= names.filter((name) => name === service.name).length,
        ),
      { timeoutMs: 60_000 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${pipeline.logs.map((entry) => entry.line).join('\n')}`);
    });
    const processes = pipeline.services.map((service, index) => {
      const replicas = names.filter((name) => name === service.name).length;
      const nth = names.slice(0, index + 1).filter((name) => name === service.name).length;
      return { label: replicas > 1 ? `${service.name} ${nth}` : service.name, pid: service.pid };
    });
    const perProcess = <R>(read: (pid: number) => R): Record<string, R> =>
      Object.fromEntries(processes.map(({ label, pid }) => [label, read(pid)]));
    return await use({
      processes,
      perProcess,
      usageNow: async () => ({
        ...perProcess(processUsage),
        postgres: await databaseUsage(database.pool, database.name),
        'nats-server': natsServerUsage(),
        [PROVIDER_SIDE]: processUsage(),
      }),
    });
  } finally {
    await pipeline.stop();
    if (options.logPath)
      await writeFile(options.logPath, pipeline.logs.map((entry) => `${entry.line}\n`).join(''));
    await bus.deleteTopology();
    await bus.drain();
  }
}

/** Records the batch as `batchline submit` (request ids) or `batchline track` would: due for its first check now. */
export async function registerBatch(pool: Pool, batch: PipelineBatch, landing: number): Promise<number> {
  const { id } = await insertBatchLog(pool, {
    provider: 'openai',
    batchId: batch.providerBatchId(landing),
    model: 'gpt-4o-mini',
    jobType: batch.jobType.name,
    totalSentences: batch.totalRequests,
    inputFileId: batch.inputFileId,
    firstPollDelayMs: 0,
    ...(batch.requestIds ? { requestIds: batch.requestIds } : {}),
  });
  return id;
}

export const usageBetween = (
  before: Record<string, ProcessUsage>,
  after: Record<string, ProcessUsage>,
): Record<string, ProcessUsage> =>
  Object.fromEntries(
    Object.entries(after).map(([name, now]) => [name, usageSince(before[name] ?? NO_USAGE, now)]),
  );

export async function runPipeline(options: {
  batch: PipelineBatch;
  landings: number;
  database: { url: string; name: string; pool: Pool };
  jobTypes: BenchJobTypes;
  serviceEnv: Record<string, string>;
  logPath?: string;
}): Promise<PipelineRun> {
  const { batch, database } = options;
  const { pool } = database;
  return withPipeline({ ...options, provider: batch }, async (pipeline) => {
    const idleRss = pipeline.perProcess(residentBytes);
    const landings: LandingFigures[] = [];
    let usage: Record<string, ProcessUsage> = {};
    for (let landing = 0; landing < options.landings; landing += 1) {
      // Every landing writes the same rows: the previous landing's are removed while the services are idle.
      if (landing > 0) await pool.query(`TRUNCATE ${batch.jobType.target.quoted}`);
      const usageBefore = await pipeline.usageNow();
      const batchLogId = await registerBatch(pool, batch, landing);
      // Polled on one connection, so the status is seen within a few ms of the last chunk's commit.
      const seen = await waitFor(
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
      if (landing === 0) usage = usageBetween(usageBefore, await pipeline.usageNow());
      landings.push({ seconds: seen.at - seen.terminalAt, peakRss: pipeline.perProcess(peakRssBytes) });
      await checkLanded(pool, batch, batchLogId);
    }
    return { landings, usage, idleRss };
  });
}

/** A wrong result (status, rows, counts of the batch) is the one failure of the bench. */
export async function checkLanded(pool: Pool, batch: PipelineBatch, batchLogId: number): Promise<void> {
  const landedBatch = await getBatchLog(pool, batchLogId);
  if (landedBatch?.status !== 2)
    throw new Error(
      `WRONG RESULT: the pipeline ended batch log ${batchLogId} with status ${landedBatch?.status}`,
    );
  const { rows } = await pool.query<{ results: number; succeeded: number; rows: number }>(
    `SELECT (SELECT count(*) FROM batch_request_results WHERE batch_log_id = $1)::int AS results,
            (SELECT count(*) FROM batch_request_results WHERE batch_log_id = $1 AND outcome = 'succeeded')::int
              AS succeeded,
            (SELECT count(*) FROM ${batch.jobType.target.quoted} WHERE batch_log_id = $1)::int AS rows`,
    [batchLogId],
  );
  const landed = rows[0]!;
  const { expected } = batch;
  if (
    landed.results !== expected.results ||
    landed.succeeded !== expected.succeeded ||
    landed.rows !== expected.rows
  ) {
    throw new Error(
      `WRONG RESULT: the pipeline landed ${JSON.stringify(landed)} for batch log ${batchLogId}; expected ` +
        JSON.stringify(expected),
    );
  }
}
