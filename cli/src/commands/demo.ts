import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connectBus } from '@batchline/bus';
import { defaultRetryPolicy } from '@batchline/config';
import {
  createPool,
  ensureTargetTables,
  getBatchLog,
  migrate,
  type Pool,
  upsertViewpoints,
} from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { type LineFault, startEmulator } from '@batchline/emulator';
import { type JobType, loadJobTypes } from '@batchline/job-types';
import { ensureNats, ensurePostgres, type LocalServer } from '@batchline/local-servers';
import { createLogger } from '@batchline/logging';
import { notifierSettings } from '@batchline/notifier';
import { createOpenAIProvider } from '@batchline/providers';
import { PIPELINE_SERVICES, type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import pg from 'pg';
import { commandContext } from '../context.ts';
import { SUMMARY_HEADERS, summariseJobType, summaryRow } from '../demo/job-type-summary.ts';
import { sampleReviewSentences, sampleViewpoints } from '../demo/sample-data.ts';
import { CommandError } from '../errors.ts';
import { cliSettings } from '../settings.ts';
import { submitRequests } from '../submission.ts';
import { formatTable } from '../table.ts';
import type { Command } from './command.ts';

/** The demo runs the services itself, and says where their Slack messages went. */
const demoSettings = { ...cliSettings, SLACK_WEBHOOK_URL: notifierSettings.SLACK_WEBHOOK_URL };

const DEMO_DATABASE = 'batchline_demo';

/** The second job type the demo lands beside specific_viewpoint: a shipped example, declared in a file. */
const SENTIMENT_DECLARATION = fileURLToPath(
  new URL('../../../examples/job-types/review_sentiment.yaml', import.meta.url),
);
const SENTIMENT_CATALOGUE = fileURLToPath(
  new URL('../../../examples/job-types/sentiment_labels.sql', import.meta.url),
);
const SENTIMENT_JOB_TYPE = 'review_sentiment';
/** Its review texts are sample sentences of another seed, so the two batches differ. */
const SENTIMENT_SEED = 7;
/** Shares of the sentiment answers the emulator spoils, so its validation shows too (contract §8). */
const SENTIMENT_ANSWER_SHARES = { invalid: 0.02, unknownReference: 0.02 };

/**
 * A real batch is never perfect: a few answers in the demo are spoiled the ways docs/interface.md §4 describes, so the
 * summary shows validation at work (deterministic, by sentence id).
 */
function demoLineFault(customId: string): LineFault | undefined {
  if (!customId.startsWith('rs-')) return undefined;
  const id = Number(customId.slice(3));
  if (id % 97 === 0) return { kind: 'content', content: 'This sentence talks about the battery, I believe.' };
  if (id % 211 === 0) return { kind: 'http', status: 500 };
  if (id % 307 === 0) return { kind: 'omit' };
  return undefined;
}
const DEMO_TIMEOUT_MS = 180_000;

/**
 * Creates a fresh demo database on the server, so the demo never touches the user's own tables. Falls back to the
 * given database when the role may not create databases.
 */
async function freshDemoDatabase(serverUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${DEMO_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${DEMO_DATABASE}`);
    const url = new URL(serverUrl);
    url.pathname = `/${DEMO_DATABASE}`;
    return url.toString();
  } catch {
    return serverUrl;
  } finally {
    await client.end();
  }
}

async function waitForFinal(pool: Pool, batchLogIds: number[], say: (line: string) => void): Promise<void> {
  const deadline = Date.now() + DEMO_TIMEOUT_MS;
  const lastSeen = new Map<number, string>();
  for (;;) {
    let done = true;
    for (const id of batchLogIds) {
      const row = await getBatchLog(pool, id);
      const state = `${row?.providerStatus ?? 'submitted'}${row && row.status !== BatchStatus.pending ? ` → status ${row.status}` : ''}`;
      if (lastSeen.get(id) !== state) {
        lastSeen.set(id, state);
        say(`batch log ${id}: ${state}`);
      }
      if (!row || row.status === BatchStatus.pending || row.finalNotifiedAt === null) done = false;
    }
    if (done) return;
    if (Date.now() > deadline)
      throw new CommandError(`the demo batch did not finish within ${DEMO_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

export const demoCommand: Command = {
  name: 'demo',
  usage: 'batchline demo [--sentences N]',
  summary:
    'runs the whole system on this machine on two sample batches and prints what landed of each job type',
  details: [
    'Submits N review sentences of the built-in specific_viewpoint job type and, at the same time, N reviews of',
    'the review_sentiment example (examples/job-types/), and prints per job type the batches, requests, rows',
    'landed, failed requests by error code and seconds.',
    'Uses DATABASE_URL and NATS_URL when they answer; otherwise starts a private Postgres (local installation) and',
    'nats-server (JetStream, temporary store). Always uses the built-in OpenAI emulator. Leaves nothing running;',
    `the results stay in the ${DEMO_DATABASE} database.`,
  ],
  options: { sentences: { type: 'string', default: '2000' } },
  async run({ values }) {
    const count = Number(values.sentences);
    if (!Number.isInteger(count) || count < 1 || count > 50_000)
      throw new CommandError('--sentences must be between 1 and 50000');
    const { config } = commandContext(false, demoSettings);
    const jobTypes = loadJobTypes(SENTIMENT_DECLARATION);
    const sentiment = jobTypes.named(SENTIMENT_JOB_TYPE);
    const say = (line: string) => console.log(`demo: ${line}`);
    const log = createLogger({ service: 'demo', level: 'warn', destination: process.stderr });
    const cleanups: (() => Promise<unknown>)[] = [];
    const cleanUp = async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
    };
    // An interrupted demo still stops what it started (a private Postgres outlives us otherwise).
    const interrupted = (signal: NodeJS.Signals) => {
      say(`${signal}: stopping what the demo started`);
      void cleanUp().then(() => process.exit(130));
    };
    process.once('SIGINT', interrupted);
    process.once('SIGTERM', interrupted);
    const started = Date.now();
    try {
      const postgres: LocalServer = await ensurePostgres({ url: config.DATABASE_URL, log });
      cleanups.push(() => postgres.stop());
      say(postgres.started ? 'started a private Postgres' : 'using the Postgres that answers');
      const nats: LocalServer = await ensureNats({ url: config.NATS_URL[0], log });
      cleanups.push(() => nats.stop());
      say(
        nats.started ? 'started a private nats-server with JetStream' : 'using the NATS server that answers',
      );

      const databaseUrl = await freshDemoDatabase(postgres.url);
      const pool = createPool({ connectionString: databaseUrl, log, applicationName: 'batchline-demo' });
      cleanups.push(() => pool.end());
      await migrate(pool, log);
      await ensureTargetTables(pool, jobTypes.all());
      const viewpoints = sampleViewpoints();
      await upsertViewpoints(pool, viewpoints);
      await pool.query(await readFile(SENTIMENT_CATALOGUE, 'utf8'));

      const namespace = `demo${randomBytes(3).toString('hex')}`;
      const bus = await connectBus({ servers: [nats.url], name: 'batchline-demo', namespace, log });
      cleanups.push(async () => {
        await bus.deleteTopology();
        await bus.drain();
      });
      await bus.ensureTopology({ maxAgeMs: config.STREAM_MAX_AGE });

      const emulator = await startEmulator({
        clock: { validatingMs: 500, inProgressMs: 2500, finalizingMs: 500 },
        jobTypes,
        answerShares: { byJobType: { [SENTIMENT_JOB_TYPE]: SENTIMENT_ANSWER_SHARES } },
        lineFaults: demoLineFault,
      });
      cleanups.push(() => emulator.close());
      say(`OpenAI emulator on ${emulator.baseUrl}`);

      const slackMessages: string[] = [];
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATABASE_URL: databaseUrl,
        NATS_URL: nats.url,
        BATCHLINE_NAMESPACE: namespace,
        OPENAI_BASE_URL: emulator.baseUrl,
        OPENAI_API_KEY: 'demo-key',
        POLL_SCHEDULE: '500ms,1s',
        POLL_TICK: '200ms',
        HEALTH_PORT: '0',
        LOG_LEVEL: 'info',
        BATCHLINE_JOB_TYPES: SENTIMENT_DECLARATION,
      };
      const services: ServiceProcess[] = PIPELINE_SERVICES.map((name) =>
        spawnServiceProcess({
          name,
          env,
          onLine: (line) => {
            if (!line.includes('slackMessage') && !line.includes('"level":"error"')) return;
            try {
              const entry = JSON.parse(line) as { slackMessage?: string; level?: string; msg?: string };
              if (entry.slackMessage) slackMessages.push(entry.slackMessage);
              else if (entry.level === 'error') say(`${name} error: ${entry.msg}`);
            } catch {
              // not a log line
            }
          },
        }),
      );
      cleanups.push(() => Promise.all(services.map((service) => service.stop())));
      say(`started ${PIPELINE_SERVICES.join(', ')} as separate processes`);

      const provider = createOpenAIProvider({ apiKey: 'demo-key', baseURL: emulator.baseUrl });
      const submit = (jobType: JobType, records: { id: number; fields: { text: string } }[]) =>
        submitRequests({
          pool,
          provider,
          jobType,
          records,
          model: jobType.declaration.request.model ?? config.BATCHLINE_MODEL,
          firstPollDelayMs: 500,
          defaultRetryPolicy: defaultRetryPolicy(config),
        });
      const sentences = sampleReviewSentences(count);
      const reviews = sampleReviewSentences(count, SENTIMENT_SEED);
      // Both job types at once: the same services land them side by side.
      const [viewpointBatches, sentimentBatches] = await Promise.all([
        submit(
          jobTypes.default,
          sentences.map((s) => ({ id: s.review_sentence_id, fields: { text: s.text } })),
        ),
        submit(
          sentiment,
          reviews.map((r) => ({ id: r.review_sentence_id, fields: { text: r.text } })),
        ),
      ]);
      say(
        `submitted ${sentences.length} review sentences against ${viewpoints.length} viewpoints (specific_viewpoint)`,
      );
      say(
        `submitted ${reviews.length} reviews for their sentiment (${SENTIMENT_JOB_TYPE}, ${SENTIMENT_DECLARATION})`,
      );
      const byJobType: [JobType, number[]][] = [
        [jobTypes.default, viewpointBatches.batches.map((b) => b.batchLogId)],
        [sentiment, sentimentBatches.batches.map((b) => b.batchLogId)],
      ];
      await waitForFinal(
        pool,
        byJobType.flatMap(([, ids]) => ids),
        say,
      );

      const summaries = [];
      for (const [jobType, ids] of byJobType) summaries.push(await summariseJobType(pool, jobType, ids));
      console.log('');
      console.log(formatTable(SUMMARY_HEADERS, summaries.map(summaryRow)));
      console.log('');
      const where = config.SLACK_WEBHOOK_URL
        ? 'posted to SLACK_WEBHOOK_URL'
        : 'logged; SLACK_WEBHOOK_URL unset';
      for (const message of slackMessages) console.log(`slack (${where}): ${message}`);
      say(
        `done in ${((Date.now() - started) / 1000).toFixed(1)} s; results are in ${databaseUrl.replace(/\/\/[^@/]*@/, '//')}`,
      );
    } finally {
      await cleanUp();
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
    }
  },
};
