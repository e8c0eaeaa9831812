import { type Bus, connectBus } from '@batchline/bus';
import { insertBatchLog, type Pool } from '@batchline/db';
import type { BatchFinalizedEvent } from '@batchline/events';
import { type ServiceProcess, spawnServiceProcess } from '@batchline/supervisor';
import {
  migratedTestDatabase,
  pipelineEnv,
  type ReceivedSlackMessage,
  type SlackReceiver,
  silentLogger,
  startSlackReceiver,
  testNamespace,
  testNatsUrl,
} from '@batchline/testing';
import { expect } from 'vitest';
import { POSSIBLE_REPEAT_NOTE } from '../src/messages/slack-message.ts';

/** Slack's pace, which every test checks: no two POSTs to one webhook less than this apart. */
export const SLACK_INTERVAL_MS = 1_000;

export interface TestBatch {
  id: number;
  providerBatchId: string;
}

/** A running notifier process with the log lines it printed. */
export interface NotifierProcess extends ServiceProcess {
  lines: string[];
}

/**
 * One scenario's world: its own database (migrated), bus namespace (streams and consumers created), a loopback
 * Slack, and notifier processes started as `batchline run notifier`.
 */
export interface NotifierScenario {
  pool: Pool;
  bus: Bus;
  slack: SlackReceiver;
  /** A second webhook on the same receiver (another path), for SLACK_CRITICAL_WEBHOOK_URL. */
  criticalUrl: string;
  /** The environment of notifier processes, with `extra` laid over the scenario's defaults. */
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  startNotifier(extra?: Record<string, string | undefined>): NotifierProcess;
  notifiers: NotifierProcess[];
  /** A final batch log row (status 2 or 9, of `jobType`) and the provider batch id its messages must name. */
  newBatch(status?: 2 | 9, jobType?: string): Promise<TestBatch>;
  /** Publishes `batch.finalized` for the batch as the persister's relay does (msg id `finalized:<id>`). */
  publishFinal(batch: TestBatch, overrides?: Partial<BatchFinalizedEvent>, msgId?: string): Promise<void>;
  close(): Promise<void>;
}

let batchCounter = 0;

export async function startScenario(label: string): Promise<NotifierScenario> {
  const database = await migratedTestDatabase(`notifier_${label}`);
  const { pool } = database;
  const namespace = testNamespace(label);
  const bus = await connectBus({
    servers: [testNatsUrl()],
    name: `notifier-test-${label}`,
    namespace,
    log: silentLogger,
  });
  await bus.ensureTopology();
  const slack = await startSlackReceiver();
  const criticalUrl = slack.url.replace('/B000TEST/', '/B000CRIT/');
  const notifiers: NotifierProcess[] = [];

  const env = (extra: Record<string, string | undefined> = {}) => {
    const base = pipelineEnv({
      databaseUrl: database.url,
      natsUrl: testNatsUrl(),
      namespace,
      // The notifier never calls the provider.
      openaiBaseUrl: 'http://127.0.0.1:9/v1',
      slackWebhookUrl: slack.url,
      extra: {
        SLACK_TIMEOUT: '2s',
        SLACK_RETRY_SCHEDULE: '1s,2s',
        // Digests only where a scenario asks for them.
        SLACK_DIGEST_THRESHOLD: '1000',
      },
    });
    for (const [key, value] of Object.entries(extra)) {
      if (value === undefined) delete base[key];
      else base[key] = value;
    }
    return base;
  };

  return {
    pool,
    bus,
    slack,
    criticalUrl,
    env,
    notifiers,
    startNotifier(extra) {
      const lines: string[] = [];
      const child = spawnServiceProcess({
        name: 'notifier',
        env: env(extra),
        onLine: (line) => lines.push(line),
      });
      const notifier = Object.assign(child, { lines });
      notifiers.push(notifier);
      return notifier;
    },
    async newBatch(status = 2, jobType?: string) {
      batchCounter += 1;
      const providerBatchId = `batch_${label}_${batchCounter}_${process.pid}`;
      const { id } = await insertBatchLog(pool, {
        provider: 'openai',
        batchId: providerBatchId,
        model: 'gpt-4o-mini',
        jobType,
        totalSentences: 10,
        inputFileId: 'file-input',
        firstPollDelayMs: 60_000,
      });
      await pool.query(
        `UPDATE batch_jobs_vp_logs
         SET status = $2, processed_sentences = $3, failed_sentences = 10 - $3, provider_terminal_at = now(),
             results_landed_at = now()
         WHERE id = $1`,
        [id, status, status === 2 ? 9 : 2],
      );
      return { id, providerBatchId };
    },
    async publishFinal(batch, overrides = {}, msgId = `finalized:${batch.id}`) {
      const completed = (overrides.status ?? 2) === 2;
      const event: BatchFinalizedEvent = {
        version: 1,
        batchLogId: batch.id,
        provider: 'openai',
        providerBatchId: batch.providerBatchId,
        status: 2,
        reason: 'completed',
        providerStatus: 'completed',
        totalSentences: 10,
        processedSentences: completed ? 9 : 2,
        failedSentences: completed ? 1 : 8,
        associations: completed ? 21 : 4,
        topErrors: [{ code: 'invalid_content', count: 1 }],
        invalidLines: 0,
        submittedAt: new Date(Date.now() - 600_000).toISOString(),
        providerTerminalAt: new Date(Date.now() - 2_000).toISOString(),
        landedAt: new Date().toISOString(),
        ...overrides,
      };
      await bus.publish('batch.finalized', event, { msgId });
    },
    async close() {
      await Promise.all(notifiers.map((notifier) => notifier.stop(5_000)));
      await slack.close();
      await bus.deleteTopology();
      await bus.drain();
      await database.close();
    },
  };
}

/** The POSTs that reached one webhook (by URL path), in order of arrival. */
export const postsTo = (messages: readonly ReceivedSlackMessage[], url: string): ReceivedSlackMessage[] =>
  messages.filter((message) => message.path === new URL(url).pathname);

/** No two POSTs to one webhook arrived less than Slack's interval apart (whatever their answer). */
export function expectSlackPace(posts: readonly ReceivedSlackMessage[]): void {
  const gaps = posts.slice(1).map((post, i) => post.at - posts[i]!.at);
  expect(gaps.filter((gap) => gap < SLACK_INTERVAL_MS)).toEqual([]);
}

/** The accepted messages that name a batch: its own final message, or its line in a digest. */
export const messagesNaming = (
  accepted: readonly ReceivedSlackMessage[],
  batch: TestBatch,
): ReceivedSlackMessage[] =>
  accepted.filter((message) => message.body.text?.includes(`Batch ${batch.providerBatchId} `));

export const isPossibleRepeat = (message: ReceivedSlackMessage): boolean =>
  message.body.text?.includes(POSSIBLE_REPEAT_NOTE) ?? false;

/**
 * Each batch is named by exactly one accepted message. With `allowFlaggedRepeat`, a batch may be named twice when
 * the second message says it may be a repeat (reliability.md I4: a crash after Slack accepted a post and before
 * the notifier recorded it).
 */
export function expectOneMessagePerBatch(
  accepted: readonly ReceivedSlackMessage[],
  batches: readonly TestBatch[],
  { allowFlaggedRepeat = false }: { allowFlaggedRepeat?: boolean } = {},
): void {
  for (const batch of batches) {
    const naming = messagesNaming(accepted, batch);
    const acceptable =
      naming.length === 1 ||
      (allowFlaggedRepeat &&
        naming.length === 2 &&
        isPossibleRepeat(naming[1]!) &&
        !isPossibleRepeat(naming[0]!));
    expect(acceptable, `${batch.providerBatchId} is named by ${naming.length} messages`).toBe(true);
  }
}

/** The pid in a notifier's instance id (`notifier-<host>-<pid>`). */
export const pidOfInstance = (instanceId: string): number => Number(instanceId.split('-').at(-1));
