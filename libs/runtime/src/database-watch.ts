import type { Bus } from '@batchline/bus';
import {
  type DatabaseHealthObserver,
  type EpisodeTransition,
  episodeCount,
  observePool,
  type Pool,
  recordEpisodeAfterwards,
} from '@batchline/db';
import { opsErrorEvent, runbookUrlOf } from '@batchline/events';
import type { Logger } from '@batchline/logging';

export const DATABASE_EPISODE_KEY = 'database';
/** How often a healthy watch re-reads the episode count (another replica may have closed an episode). */
const REFRESH_MS = 60_000;

export interface DatabaseWatchOptions {
  /** The service whose pool is watched (named in the messages). */
  service: string;
  pool: Pool;
  bus: Pick<Bus, 'publish'>;
  log: Logger;
  /** OPS_DATABASE_TROUBLE_AFTER. */
  troubleAfterMs: number;
  /** OPS_RUNBOOK_URL. */
  runbookUrl: string;
}

function announcement(options: DatabaseWatchOptions, transition: EpisodeTransition, detail: string | null) {
  const over = transition.phase === 'over';
  return opsErrorEvent(
    {
      service: options.service,
      kind: 'database',
      severity: 'critical',
      provider: null,
      message: over
        ? 'Postgres answers again; the work that waited resumes'
        : `Postgres has refused or failed the ${options.service}'s work since ${transition.since.toISOString()}`,
      detail,
      since: transition.since,
      episode: { key: transition.key, number: transition.number, phase: transition.phase },
      runbookUrl: runbookUrlOf(options.runbookUrl, 'database'),
    },
    transition.at,
  );
}

/**
 * Database trouble of one process, announced once per episode across replicas and restarts. Every statement and
 * connection attempt of the pool reports to it (`observePool`). While Postgres fails, nothing can be recorded in
 * it: once the failures have lasted `troubleAfterMs` with no answer in between, the episode's beginning is
 * published straight on the bus, numbered after the last episode this process read, so every replica and service
 * computes the same occurrence, which JetStream and the notifier take once. When Postgres answers again, the
 * episode is recorded in `ops_episodes` with its beginning (again, harmlessly) and its "over" message, in one
 * transaction that only the first process to recover gets to make; an outbox relay publishes them.
 */
export function watchDatabase(options: DatabaseWatchOptions): DatabaseHealthObserver {
  let failingSince: Date | null = null;
  let known: { count: number; readAt: number } | null = null;
  let announcedNumber: number | null = null;
  // The watch's own statements report to it too; one piece of its work at a time, the rest is dropped.
  let busy = false;

  const announceBeginning = async (error: unknown, since: Date, count: number) => {
    const number = count + 1;
    const message = announcement(
      options,
      { key: DATABASE_EPISODE_KEY, number, phase: 'began', since, at: new Date() },
      error instanceof Error ? error.message : String(error),
    );
    try {
      await options.bus.publish(message.subject, message.payload, { msgId: message.msgId });
      announcedNumber = number;
      options.log.error({ episode: { key: DATABASE_EPISODE_KEY, number } }, 'database trouble announced');
    } catch (publishError) {
      options.log.warn({ err: publishError }, 'could not announce the database trouble yet');
    }
  };

  const recover = async () => {
    const since = failingSince;
    if (since !== null && Date.now() - since.getTime() >= options.troubleAfterMs) {
      const over = await recordEpisodeAfterwards(options.pool, DATABASE_EPISODE_KEY, since, (t) =>
        announcement(options, t, null),
      );
      if (over) options.log.info({ episode: over }, 'database trouble over');
    }
    failingSince = null;
    announcedNumber = null;
    if (since !== null || known === null || Date.now() - known.readAt >= REFRESH_MS) {
      known = { count: await episodeCount(options.pool, DATABASE_EPISODE_KEY), readAt: Date.now() };
    }
  };

  const exclusively = (work: () => Promise<void>, failure: string) => {
    busy = true;
    work()
      .catch((error: unknown) => options.log.warn({ err: error }, failure))
      .finally(() => {
        busy = false;
      });
  };

  return {
    failed(error) {
      failingSince ??= new Date();
      const since = failingSince;
      if (busy || known === null || announcedNumber !== null) return;
      if (Date.now() - since.getTime() < options.troubleAfterMs) return;
      exclusively(
        () => announceBeginning(error, since, known!.count),
        'could not announce the database trouble',
      );
    },
    succeeded() {
      if (busy) return;
      const stale = known === null || Date.now() - known.readAt >= REFRESH_MS;
      if (failingSince === null && !stale) return;
      exclusively(recover, 'could not record the database episode');
    },
  };
}

/** Watches `options.pool` (every statement of the process) for database trouble; see `watchDatabase`. */
export function watchPool(options: DatabaseWatchOptions): void {
  observePool(options.pool, watchDatabase(options));
}
