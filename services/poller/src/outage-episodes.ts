import { type EpisodeTransition, type Pool, recordHealthy, recordTrouble } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import { opsErrorEvent, runbookUrlOf } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { ProviderError } from '@batchline/providers';

/** Provider outages announced once per episode (shared by every replica through `ops_episodes`). */
export interface OutageEpisodes {
  pool: Pool;
  log: Logger;
  /** OPS_PROVIDER_OUTAGE_AFTER: 5xx and timeouts with no success this long make an outage. */
  outageAfterMs: number;
  /** OPS_RUNBOOK_URL. */
  runbookUrl: string;
  /** Called when an announcement was written to the outbox (the relay publishes it). */
  onAnnounced?: () => void;
}

/** Whether a failed provider call counts towards an outage: 5xx, connection failures and timeouts. */
export function isOutageError(error: unknown): error is ProviderError {
  return error instanceof ProviderError && (error.kind === 'unavailable' || error.kind === 'timeout');
}

export const outageKey = (provider: ProviderName) => `provider_unavailable:${provider}`;

function announcement(
  provider: ProviderName,
  runbookUrl: string,
  transition: EpisodeTransition,
  detail: string | null,
) {
  const over = transition.phase === 'over';
  return opsErrorEvent(
    {
      service: 'poller',
      kind: 'provider_unavailable',
      severity: 'high',
      provider,
      message: over
        ? `${provider} answers again; the outage is over`
        : `${provider} has answered only with 5xx errors or timeouts since ${transition.since.toISOString()}; checks continue with backoff`,
      detail,
      since: transition.since,
      episode: { key: transition.key, number: transition.number, phase: transition.phase },
      runbookUrl: runbookUrlOf(runbookUrl, 'provider_unavailable'),
    },
    transition.at,
  );
}

/**
 * Records what one provider call says of the provider's health (`error` null: it succeeded): an outage error
 * counts towards (or opens) an episode, any answer closes it; other failures say nothing. Never throws: a failure to record is logged, the check goes on.
 */
export async function noteProviderHealth(
  episodes: OutageEpisodes,
  provider: ProviderName,
  error: unknown | null,
): Promise<void> {
  try {
    // Any answer, a refusal included (401, 404, 429), shows the provider is reachable.
    const answered = error === null || (error instanceof ProviderError && !isOutageError(error));
    const transition = answered
      ? await recordHealthy(episodes.pool, outageKey(provider), (t) =>
          announcement(provider, episodes.runbookUrl, t, null),
        )
      : isOutageError(error)
        ? await recordTrouble(episodes.pool, outageKey(provider), episodes.outageAfterMs, (t) =>
            announcement(provider, episodes.runbookUrl, t, error.message),
          )
        : null;
    if (transition) {
      episodes.log.warn({ provider, episode: transition }, `provider outage ${transition.phase}`);
      episodes.onAnnounced?.();
    }
  } catch (recordError) {
    episodes.log.warn({ err: recordError, provider }, 'could not record the provider outage episode');
  }
}
