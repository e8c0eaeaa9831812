import type { Bus, BusBacklog } from '@batchline/bus';
import {
  type CountReading,
  type EpisodeTransition,
  type Pool,
  recordCountReading,
  recordHealthy,
  recordTrouble,
} from '@batchline/db';
import { opsErrorEvent, runbookUrlOf } from '@batchline/events';
import type { Logger } from '@batchline/logging';

export interface QueueEpisodeOptions {
  pool: Pool;
  bus: Pick<Bus, 'backlog'>;
  log: Logger;
  /** OPS_QUEUE_TROUBLE_AFTER: lag or dead letters growing this long make an episode. */
  troubleAfterMs: number;
  /** OPS_CONSUMER_LAG_MAX: a consumer with more messages outstanding is lagging. */
  lagMax: number;
  /** OPS_RUNBOOK_URL. */
  runbookUrl: string;
  /** POLL_SWEEP_INTERVAL: how often the queue is read; the DLQ grew within the last one counts as growing. */
  intervalMs: number;
  onAnnounced?: () => void;
}

export const DEAD_LETTERS_KEY = 'queue:dead_letters';

/** One queue condition seen in a backlog: its episode key, whether it is in trouble now, and what to say. */
export interface QueueCondition {
  key: string;
  troubled: boolean;
  what: string;
}

/** An outbox row unpublished this long means the relays' publishes fail (they publish within moments). */
export const UNPUBLISHED_AFTER_MS = 30_000;

/** Events committed to the outbox more than `UNPUBLISHED_AFTER_MS` ago and still not published. */
async function overdueOutboxRows(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ overdue: number }>(
    `SELECT count(*)::int AS overdue FROM outbox
      WHERE published_at IS NULL AND created_at < now() - $1 * interval '1 millisecond'`,
    [UNPUBLISHED_AFTER_MS],
  );
  return rows[0]!.overdue;
}

/** The publishes condition: the outbox relays have left events unpublished too long. */
export function publishCondition(overdue: number): QueueCondition {
  return {
    key: 'queue:publishes',
    troubled: overdue > 0,
    what: `${overdue} committed events have waited more than ${UNPUBLISHED_AFTER_MS / 1000} s to be published: publishing to JetStream fails`,
  };
}

/** The conditions a backlog shows: each consumer lagging (more than `lagMax` outstanding) or not. */
export function lagConditions(backlog: BusBacklog, lagMax: number): QueueCondition[] {
  return backlog.consumers.map(({ consumer, pending, ackPending }) => ({
    key: `queue:lag:${consumer}`,
    troubled: pending + ackPending > lagMax,
    what: `consumer ${consumer} has ${pending + ackPending} messages outstanding (more than ${lagMax})`,
  }));
}

/** The dead-letters condition: the DLQ count, read against the baseline every replica shares, keeps growing. */
export function deadLetterCondition(reading: CountReading): QueueCondition {
  const growth =
    reading.previous === null ? '' : `, ${reading.value - reading.previous} since the last reading`;
  return {
    key: DEAD_LETTERS_KEY,
    troubled: reading.growing,
    what: `the DLQ keeps growing (${reading.value} dead letters${growth}; last grew at ${reading.grewAt?.toISOString()})`,
  };
}

function announcement(options: QueueEpisodeOptions, transition: EpisodeTransition, what: string) {
  const over = transition.phase === 'over';
  return opsErrorEvent(
    {
      service: 'poller',
      kind: 'queue',
      severity: 'high',
      provider: null,
      message: over ? `queue trouble over: ${transition.key}` : what,
      since: transition.since,
      episode: { key: transition.key, number: transition.number, phase: transition.phase },
      runbookUrl: runbookUrlOf(options.runbookUrl, 'queue'),
    },
    transition.at,
  );
}

/**
 * Watches the queue: every call reads the outbox (publishes failing) and the backlog (consumers lagging, the DLQ
 * count recorded against the shared baseline in `ops_readings`, growing) and records each condition's trouble or
 * health in `ops_episodes` (each episode announced once, by whichever replica sees it first; a publishes episode
 * is announced once publishing works again). A failure to read the backlog is logged and judges only the outbox.
 */
export async function checkQueue(options: QueueEpisodeOptions): Promise<void> {
  const conditions = [publishCondition(await overdueOutboxRows(options.pool))];
  try {
    const backlog = await options.bus.backlog();
    conditions.push(...lagConditions(backlog, options.lagMax));
    const reading = await recordCountReading(
      options.pool,
      DEAD_LETTERS_KEY,
      backlog.deadLetters,
      options.intervalMs,
    );
    conditions.push(deadLetterCondition(reading));
  } catch (error) {
    options.log.warn({ err: error }, 'could not read the queue backlog');
  }
  for (const { key, troubled, what } of conditions) {
    const announce = (transition: EpisodeTransition) => announcement(options, transition, what);
    const transition = troubled
      ? await recordTrouble(options.pool, key, options.troubleAfterMs, announce)
      : await recordHealthy(options.pool, key, announce);
    if (transition) {
      options.log.warn({ episode: transition }, `queue trouble ${transition.phase}`);
      options.onAnnounced?.();
    }
  }
}

/** Runs `checkQueue` every `intervalMs` until stopped. */
export function startQueueWatch(options: QueueEpisodeOptions): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    checkQueue(options)
      .catch((error: unknown) => options.log.warn({ err: error }, 'queue check failed'))
      .finally(() => {
        running = false;
      });
  }, options.intervalMs);
  return { stop: () => clearInterval(timer) };
}
