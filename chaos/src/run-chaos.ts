import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectBus } from '@batchline/bus';
import { createPool, ensureTargetTables, migrate, type Pool, upsertViewpoints } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { type Emulator, type LineFault, startEmulator } from '@batchline/emulator';
import type { JobTypeSet } from '@batchline/job-types';
import { ensureNats, ensurePostgres, isRestartable, type LocalServer } from '@batchline/local-servers';
import { createLogger } from '@batchline/logging';
import { createOpenAIProvider } from '@batchline/providers';
import { pipelineEnv, type SlackReceiver, startSlackReceiver, testNamespace } from '@batchline/testing';
import pg from 'pg';
import { BusProbe } from './bus-probe.ts';
import {
  batchStates,
  expectationsOf,
  slackPostsOf,
  storedCanarySightings,
  storedEventIds,
  unpublishedOutboxRows,
} from './collect.ts';
import { planFaults } from './fault-plan.ts';
import { Fleet } from './fleet.ts';
import { evaluateInvariants } from './invariants.ts';
import {
  chaosJobTypes,
  SECOND_JOB_TYPE,
  SECOND_JOB_TYPE_ANSWER_SHARES,
  SECOND_JOB_TYPE_DECLARATION,
  seedSecondCatalogue,
} from './job-types.ts';
import { Nemesis } from './nemesis.ts';
import type { RunObservations } from './observations.ts';
import { PIPELINE_SERVICE_NAMES, type ProfileName, profileWith } from './profiles.ts';
import { type ChaosReport, countByKind, summarizeFaults } from './report.ts';
import { Rng, randomSeed } from './rng.ts';
import { SlackFaults } from './slack-faults.ts';
import {
  CHAOS_CATALOGUE,
  planWorkload,
  type SubmittedBatch,
  scriptedOutcome,
  submitBatches,
} from './workload.ts';

export interface ChaosOptions {
  profile: ProfileName;
  seed?: number;
  batches?: number;
  /** The fault window, overriding the profile's. */
  durationMs?: number;
  /** Progress lines (phases, each fault as it is injected). */
  log?: (line: string) => void;
  /** Keep the service logs even when every invariant held. */
  keepArtifacts?: boolean;
}

/** Everything a finished run leaves for inspection (tests tamper with the database and check again). */
export interface ChaosRun {
  report: ChaosReport;
  observations: RunObservations;
}

/** Points where a service could leak a secret: each one a recognisable fake (SC8 in docs/fault-injection.md). */
interface Canaries {
  openaiKey: string;
  databasePassword: string;
  slackWebhookToken: string;
  adminToken: string;
}

const SETTLE_AFTER_DRAIN_MS = 3_000;
const SERVICES_START_TIMEOUT_MS = 90_000;
const DRAIN_POLL_MS = 1_000;

/**
 * One chaos run: private Postgres and NATS, the emulator and a Slack receiver, the services as separate
 * processes (two replicas each), a seeded workload and nemesis; then heal, drain within a bound, and check
 * I1–I7 against the emulator's oracle.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosRun> {
  const seed = options.seed ?? randomSeed();
  const profile = profileWith(options.profile, { batches: options.batches, durationMs: options.durationMs });
  const say = options.log ?? (() => undefined);
  const rng = new Rng(seed);
  const specs = planWorkload(profile, rng.fork('workload'));
  const runStart = Date.now();
  let t0 = runStart;
  const elapsed = () => Date.now() - t0;
  say(`chaos: profile ${profile.name}, seed ${seed}, ${specs.length} batches`);

  const silent = createLogger({ service: 'chaos', level: 'silent' });
  const workDir = await mkdtemp(join(tmpdir(), `batchline-chaos-${seed}-`));
  const serviceLog = createWriteStream(join(workDir, 'services.log'));
  const canaries: Canaries = {
    openaiKey: `sk-chaos-canary-${randomBytes(12).toString('hex')}`,
    databasePassword: `pwcanary${randomBytes(8).toString('hex')}`,
    slackWebhookToken: '',
    adminToken: `admin-canary-${randomBytes(8).toString('hex')}`,
  };
  const logSightings: string[] = [];
  const servers: LocalServer[] = [];
  let emulator: Emulator | undefined;
  let slack: SlackReceiver | undefined;
  let fleet: Fleet | undefined;
  let pool: Pool | undefined;
  let probe: BusProbe | undefined;
  let held = false;

  try {
    // Private servers: restarting them never disturbs the machine's shared ones.
    const [postgres, nats] = await Promise.all([
      ensurePostgres({ url: 'postgres://x@127.0.0.1:1/x', log: silent }),
      ensureNats({ url: 'nats://127.0.0.1:1', log: silent }),
    ]);
    servers.push(postgres, nats);
    if (!isRestartable(postgres) || !isRestartable(nats)) {
      throw new Error('the chaos run needs private Postgres and NATS servers it can restart');
    }
    const databaseUrl = await createRunDatabase(postgres.url, canaries.databasePassword);
    pool = createPool({ connectionString: databaseUrl, log: silent, applicationName: 'chaos-harness' });
    await migrate(pool, silent);
    const jobTypes = chaosJobTypes();
    await ensureTargetTables(pool, jobTypes.all());
    await upsertViewpoints(pool, CHAOS_CATALOGUE);
    await seedSecondCatalogue(pool);
    const second = jobTypes.named(SECOND_JOB_TYPE);
    const { rows: secondCatalogue } = await pool.query<{ key: string; label: string }>(
      second.catalogue!.selectSql,
    );

    const lineFaults = new Map<string, LineFault>();
    emulator = await startEmulator({
      clock: profile.emulatorClock,
      jobTypes,
      answerShares: { byJobType: { [SECOND_JOB_TYPE]: SECOND_JOB_TYPE_ANSWER_SHARES } },
      lineFaults: (customId) => lineFaults.get(customId),
      batchOutcome: (batch) => scriptedOutcome(specs, batch.metadata),
    });
    slack = await startSlackReceiver();
    canaries.slackWebhookToken = new URL(slack.url).pathname.split('/').at(-1)!;
    const slackFaults = new SlackFaults(slack);

    const namespace = testNamespace('chaos');
    const setupBus = await connectBus({ servers: [nats.url], name: 'chaos-setup', namespace, log: silent });
    await setupBus.ensureTopology();
    await setupBus.drain();
    probe = await BusProbe.connect(nats.url, namespace);

    const env = pipelineEnv({
      databaseUrl,
      natsUrl: nats.url,
      namespace,
      openaiBaseUrl: emulator.baseUrl,
      slackWebhookUrl: slack.url,
      extra: {
        ...profile.serviceEnv,
        OPENAI_API_KEY: canaries.openaiKey,
        ADMIN_TOKENS: canaries.adminToken,
        BATCHLINE_JOB_TYPES: SECOND_JOB_TYPE_DECLARATION,
      },
    });
    const secrets = Object.values(canaries);
    fleet = new Fleet({
      env,
      replicas: profile.replicas,
      elapsed,
      onLine: (slot, line) => {
        serviceLog.write(`${slot} ${line}\n`);
        for (const secret of secrets) {
          if (line.includes(secret)) {
            logSightings.push(`${slot} log: ${line.replaceAll(secret, '<CANARY>').slice(0, 240)}`);
          }
        }
      },
    });
    await fleet.start(SERVICES_START_TIMEOUT_MS);
    const setupMs = Date.now() - runStart;
    say(`chaos: setup done in ${(setupMs / 1000).toFixed(1)} s; faults and workload start`);

    // The fault phase: the workload and the nemesis run side by side from t0.
    const plan = planFaults(profile, rng.fork('faults'), fleet.labels());
    const nemesis = new Nemesis({
      fleet,
      nats,
      postgres,
      postgresAdminUrl: postgres.url,
      emulator,
      slack: slackFaults,
      probe,
      rng: rng.fork('nemesis-runtime'),
      elapsed,
      log: (line) => say(`  +${(elapsed() / 1000).toFixed(1)} s ${line}`),
    });
    const stop = new AbortController();
    t0 = Date.now();
    const provider = createOpenAIProvider({ apiKey: canaries.openaiKey, baseURL: emulator.baseUrl });
    const submitting = submitBatches(
      specs,
      {
        emulator,
        provider,
        pool,
        jobTypes,
        secondCatalogue,
        workDir,
        rng: rng.fork('texts'),
        lineFaults,
        elapsed,
        onError: (what, error) => say(`  ${what} failed, retrying: ${(error as Error).message}`),
      },
      stop.signal,
    );
    const [submitted] = await Promise.all([submitting, nemesis.run(plan, stop.signal)]);
    nemesis.heal();
    const faultPhaseMs = elapsed();
    say(
      `chaos: healed at +${(faultPhaseMs / 1000).toFixed(1)} s; draining (bound ${profile.drainBoundMs / 1000} s)`,
    );

    const drainMs = await drain(pool, probe, submitted.length, profile.drainBoundMs);
    say(
      drainMs === null
        ? 'chaos: the drain bound passed'
        : `chaos: drained in ${(drainMs / 1000).toFixed(1)} s`,
    );
    await sleep(SETTLE_AFTER_DRAIN_MS);

    const observations = await observe({
      pool,
      jobTypes,
      probe,
      emulator,
      slack,
      submitted,
      nemesis,
      fleet,
      secrets,
      logSightings,
      drainMs,
      drainBoundMs: profile.drainBoundMs,
      startedAt: t0,
    });
    const invariants = evaluateInvariants(observations);
    held = invariants.every((invariant) => invariant.held);
    const report: ChaosReport = {
      profile: profile.name,
      seed,
      batches: submitted.length,
      requests: submitted.reduce((sum, batch) => sum + batch.spec.size, 0),
      batchesByKind: countByKind(submitted.map((batch) => batch.spec.kind)),
      faults: summarizeFaults(nemesis.records),
      invariants,
      held,
      timings: { setupMs, faultPhaseMs, drainMs, totalMs: Date.now() - runStart },
      otherSlackMessages: observations.slackPosts
        .filter((post) => post.accepted && !submitted.some((b) => post.text.includes(b.providerBatchId)))
        .map((post) => post.text.replace(/\s+/g, ' ').slice(0, 160)),
      exits: countExits(fleet),
      artifactsDir: held && !options.keepArtifacts ? null : workDir,
      reproduce:
        `npm run chaos -- --profile ${profile.name} --seed ${seed}` +
        `${options.batches ? ` --batches ${options.batches}` : ''}` +
        `${options.durationMs ? ` --duration ${Math.round(options.durationMs / 1000)}s` : ''}`,
    };
    return { report, observations };
  } finally {
    await fleet?.stop().catch(() => undefined);
    await probe?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await emulator?.close().catch(() => undefined);
    await slack?.close().catch(() => undefined);
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
    await new Promise((resolve) => serviceLog.end(resolve));
    if (held && !options.keepArtifacts) await rm(workDir, { recursive: true, force: true });
  }
}

/** A database of its own on the private cluster; its URL carries the canary password (trust auth ignores it). */
async function createRunDatabase(adminUrl: string, password: string): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE batchline_chaos');
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.password = password;
  url.pathname = '/batchline_chaos';
  return url.toString();
}

/**
 * Waits until every batch is final and announced, the outbox is empty and no consumer has anything pending;
 * returns how long that took, or null when the bound passed first.
 */
async function drain(pool: Pool, probe: BusProbe, batches: number, boundMs: number): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started <= boundMs) {
    try {
      const { rows } = await pool.query<{ done: number; unpublished: number }>(
        `SELECT (SELECT count(*)::int FROM batch_jobs_vp_logs WHERE status <> ${BatchStatus.pending} AND final_notified_at IS NOT NULL) AS done,
                (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS unpublished`,
      );
      const consumers = await probe.consumerStates(PIPELINE_SERVICE_NAMES);
      const busy = consumers.some((c) => c.pending > 0 || c.ackPending > 0);
      if (rows[0]!.done === batches && rows[0]!.unpublished === 0 && !busy) return Date.now() - started;
    } catch {
      // a server still coming back: look again
    }
    await sleep(DRAIN_POLL_MS);
  }
  return null;
}

async function observe(ctx: {
  pool: Pool;
  jobTypes: JobTypeSet;
  probe: BusProbe;
  emulator: Emulator;
  slack: SlackReceiver;
  submitted: SubmittedBatch[];
  nemesis: Nemesis;
  fleet: Fleet;
  secrets: string[];
  logSightings: string[];
  drainMs: number | null;
  drainBoundMs: number;
  startedAt: number;
}): Promise<RunObservations> {
  const deadLetters = await ctx.probe.deadLetters();
  return {
    expectations: await expectationsOf(ctx.emulator, ctx.submitted),
    states: await batchStates(ctx.pool, ctx.jobTypes),
    slackPosts: slackPostsOf(ctx.slack),
    consumers: await ctx.probe.consumerStates(PIPELINE_SERVICE_NAMES),
    deadLetters,
    unpublishedOutbox: await unpublishedOutboxRows(ctx.pool),
    events: await storedEventIds(ctx.probe),
    faults: ctx.nemesis.records,
    exits: [...ctx.fleet.exits],
    canarySightings: [
      ...ctx.logSightings,
      ...(await storedCanarySightings(
        ctx.pool,
        ctx.secrets,
        ctx.slack,
        deadLetters.map((letter) => letter.error),
      )),
    ],
    drainMs: ctx.drainMs,
    drainBoundMs: ctx.drainBoundMs,
    startedAt: ctx.startedAt,
  };
}

function countExits(fleet: Fleet): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const exit of fleet.exits) counts[exit.cause] = (counts[exit.cause] ?? 0) + 1;
  return counts;
}
