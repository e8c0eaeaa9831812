import type { Queryable } from '@batchline/db';
import { PROVIDERS } from '@batchline/domain';

/** A provider's pause as the poller records it (`provider_pauses`), and its last rate limit. */
export interface ProviderStateRow {
  provider: string;
  paused: boolean;
  kind: string | null;
  reason: string | null;
  since: Date | null;
  until: Date | null;
  needsProbe: boolean;
}

/**
 * Every provider's state: paused when its pause holds (a rate limit until `paused_until`, the other kinds until
 * a probe succeeds). A rate limit's row stays after it lapses (until another pause replaces it), so it is also
 * the provider's last rate limit.
 */
export async function readProviderStates(db: Queryable): Promise<ProviderStateRow[]> {
  const { rows } = await db.query<{
    provider: string;
    paused: boolean;
    kind: string;
    reason: string;
    since: Date;
    until: Date;
    needs_probe: boolean;
  }>(
    `SELECT provider, (needs_probe OR paused_until > now()) AS paused, kind, reason, since,
            paused_until AS until, needs_probe
     FROM provider_pauses`,
  );
  return PROVIDERS.map((provider) => {
    const row = rows.find((candidate) => candidate.provider === provider);
    return {
      provider,
      paused: row?.paused ?? false,
      kind: row?.kind ?? null,
      reason: row?.reason ?? null,
      since: row?.since ?? null,
      until: row?.until ?? null,
      needsProbe: row?.needs_probe ?? false,
    };
  });
}
