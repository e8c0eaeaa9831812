import type { Bus } from '@batchline/bus';
import { type EpisodeTransition, episodeCount, type Pool, recordEpisodeAfterwards } from '@batchline/db';
import { opsErrorEvent, runbookUrlOf } from '@batchline/events';
import type { Logger } from '@batchline/logging';

export const DATABASE_EPISODE_KEY = 'database';
/** How often a healthy watch re-reads the episode count (another replica may have closed an episode). */
const REFRESH_MS = 60_000;

export interface DatabaseEpisodeOptions {
  pool: Pool;
  bus: Pick<Bus, 'publish'>;
  log: Logger;
  /** OPS_DATABASE_TROUBLE_AFTER. */
  troubleAfterMs: number;
  /** OPS_RUNBOOK_URL. */
  runbookUrl: string;
  /** Called when announcements were written to the outbox (the relay publishes them). */
  onAnnounced?: () => void;
}

/** What a poller tells its watch: a cycle against Postgres failed, or one succeeded. */
export interface DatabaseWatch {
  failed(error: unknown): Promise<void>;
  succeeded(): Promise<void>;
}

function announcement(options: DatabaseEpisodeOptions, transition: EpisodeTransition, detail: string | null) {
  const over = transition.phase === 'over';
  return opsErrorEvent(
    {
      service: 'poller',
      kind: 'database',
      severity: 'critical',
      provider: null,
      message: over
        ? 'Postgres answers again; the work that waited resumes'
        : `Postgres has refused or failed the poller's work since ${transition.since.toISOString()}`,
      detail,
      since: transition.since,
      episode: { key: transition.key, number: transition.number, phase: transition.phase },
      runbookUrl: runbookUrlOf(options.runbookUrl, 'database'),
    },
    transition.at,
  );
}

/**
 * Database trouble, announced once per episode. While Postgres fails, nothing can be recorded in it: once the
 * failures have lasted `troubleAfterMs`, the episode's beginning is published straight on the bus, numbered after
 * the last episode this process read (every replica computes the same occurrence, announced once). When Postgres
 * answers again, the episode is recorded in `ops_episodes` with its beginning (again, harmlessly) and its "over"
 * message, in one transaction that only the first replica to recover gets to make.
 */
export function watchDatabase(options: DatabaseEpisodeOptions): DatabaseWatch {
  let failingSince: Date | null = null;
  let known: { count: number; readAt: number } | null = null;
  let announcedNumber: number | null = null;

  const refresh = async () => {
    known = { count: await episodeCount(options.pool, DATABASE_EPISODE_KEY), readAt: Date.now() };
  };

  return {
    async failed(error) {
      failingSince ??= new Date();
      const lasted = Date.now() - failingSince.getTime();
      if (known === null || announcedNumber !== null || lasted < options.troubleAfterMs) return;
      const number = known.count + 1;
      const transition = { key: DATABASE_EPISODE_KEY, number, phase: 'began' as const };
      const message = announcement(
        options,
        { ...transition, since: failingSince, at: new Date() },
        error instanceof Error ? error.message : String(error),
      );
      try {
        await options.bus.publish(message.subject, message.payload, { msgId: message.msgId });
        announcedNumber = number;
        options.log.error({ episode: transition }, 'database trouble announced');
      } catch (publishError) {
        options.log.warn({ err: publishError }, 'could not announce the database trouble yet');
      }
    },
    async succeeded() {
      try {
        const since = failingSince;
        if (since !== null && Date.now() - since.getTime() >= options.troubleAfterMs) {
          const over = await recordEpisodeAfterwards(options.pool, DATABASE_EPISODE_KEY, since, (t) =>
            announcement(options, t, null),
          );
          if (over) {
            options.log.info({ episode: over }, 'database trouble over');
            options.onAnnounced?.();
          }
        }
        failingSince = null;
        announcedNumber = null;
        if (since !== null || known === null || Date.now() - known.readAt >= REFRESH_MS) await refresh();
      } catch (error) {
        options.log.warn({ err: error }, 'could not record the database episode');
      }
    },
  };
}
