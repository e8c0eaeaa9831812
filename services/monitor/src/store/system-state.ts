import type { Queryable } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';

/** A provider's pause as the poller keeps it (`provider_pauses`), when one holds now. */
export interface ActivePause {
  provider: string;
  kind: string;
}

/** Pauses that hold now, as the poller's lease query reads them (a probe pending, or not yet past). */
export async function activeProviderPauses(db: Queryable): Promise<ActivePause[]> {
  const { rows } = await db.query<ActivePause>(
    'SELECT provider, kind FROM provider_pauses WHERE needs_probe OR paused_until > now() ORDER BY provider',
  );
  return rows;
}

/**
 * Age in seconds of the oldest pending batch at each stage: `at_provider` since its submission (the provider has
 * not ended it), `landing` since the provider ended it (its results have not landed). 0 when there is none.
 */
export async function oldestPendingAges(db: Queryable): Promise<{ atProvider: number; landing: number }> {
  const { rows } = await db.query<{ at_provider: number; landing: number }>(
    `SELECT COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE provider_terminal_at IS NULL)), 0)::float8
              AS at_provider,
            COALESCE(extract(epoch FROM now() - min(provider_terminal_at)), 0)::float8 AS landing
     FROM batch_jobs_vp_logs WHERE status = ${BatchStatus.pending}`,
  );
  return { atProvider: rows[0]!.at_provider, landing: rows[0]!.landing };
}
