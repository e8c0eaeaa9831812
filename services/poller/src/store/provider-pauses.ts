import {
  enqueueOutbox,
  type OutboxEvent,
  type Queryable,
  type TransactionSource,
  withTransaction,
} from '@batchline/db';
import { BatchStatus, type ProviderName } from '@batchline/domain';
import { redactSecretsIn } from '@batchline/logging';

/**
 * Why every check against a provider is held back: a rate limit (ends by itself), an exhausted quota, refused
 * credentials or a 404 for everything (these end only when a probe of the provider succeeds).
 */
export type ProviderPauseKind = 'rate_limited' | 'quota' | 'auth' | 'not_found';

/** Kinds that end only with a successful probe. */
const NEEDS_PROBE: ReadonlySet<ProviderPauseKind> = new Set(['quota', 'auth', 'not_found']);

export interface ProviderPause {
  provider: ProviderName;
  kind: ProviderPauseKind;
  needsProbe: boolean;
  pausedUntil: Date;
  /** Time left until `pausedUntil`, by the database clock (so a skewed poller clock cannot shorten a pause). */
  remainingMs: number;
  reason: string;
  since: Date;
  probes: number;
}

interface ProviderPauseRow {
  provider: ProviderName;
  kind: ProviderPauseKind;
  needs_probe: boolean;
  paused_until: Date;
  remaining_ms: number;
  reason: string;
  since: Date;
  probes: number;
}

const toPause = (row: ProviderPauseRow): ProviderPause => ({
  provider: row.provider,
  kind: row.kind,
  needsProbe: row.needs_probe,
  pausedUntil: row.paused_until,
  remainingMs: Math.max(0, row.remaining_ms),
  reason: row.reason,
  since: row.since,
  probes: row.probes,
});

export interface PauseRequest {
  provider: ProviderName;
  kind: ProviderPauseKind;
  /** No check against the provider (nor a probe) before this much time has passed, database clock. */
  pauseMs: number;
  /** Shown to operators; secrets are masked. */
  reason: string;
  /** The event announcing a pause that starts now (not one extended), written in the same transaction. */
  announce?: (pause: ProviderPause) => OutboxEvent;
}

/**
 * Pauses every check against a provider, for every poller replica at once. An existing pause is extended (never
 * shortened); a pause that needs a probe is never turned into one that does not. Returns the pause and whether
 * it started with this call (so that it is announced once per outage, not once per failed check).
 */
export async function pauseProvider(
  db: TransactionSource,
  request: PauseRequest,
): Promise<{ pause: ProviderPause; started: boolean }> {
  return withTransaction(db, async (client) => {
    // Serialises replicas pausing the same provider (also while it has no row to lock yet), so exactly one of
    // them sees the pause start.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('batchline.provider_pauses'), hashtext($1))`, [
      request.provider,
    ]);
    const { rows: before } = await client.query<{ live: boolean }>(
      `SELECT (needs_probe OR paused_until > now()) AS live FROM provider_pauses WHERE provider = $1 FOR UPDATE`,
      [request.provider],
    );
    const wasLive = before[0]?.live ?? false;
    const { rows } = await client.query<ProviderPauseRow>(
      `INSERT INTO provider_pauses (provider, kind, needs_probe, paused_until, reason)
       VALUES ($1, $2, $3, now() + $4::float8 * interval '1 millisecond', $5)
       ON CONFLICT (provider) DO UPDATE SET
         kind = CASE WHEN EXCLUDED.needs_probe OR NOT provider_pauses.needs_probe THEN EXCLUDED.kind
                     ELSE provider_pauses.kind END,
         reason = CASE WHEN EXCLUDED.needs_probe OR NOT provider_pauses.needs_probe THEN EXCLUDED.reason
                       ELSE provider_pauses.reason END,
         needs_probe = provider_pauses.needs_probe OR EXCLUDED.needs_probe,
         paused_until = CASE WHEN $6::boolean THEN GREATEST(provider_pauses.paused_until, EXCLUDED.paused_until)
                             ELSE EXCLUDED.paused_until END,
         since = CASE WHEN $6::boolean THEN provider_pauses.since ELSE now() END,
         probes = CASE WHEN $6::boolean THEN provider_pauses.probes ELSE 0 END,
         updated_at = now()
       RETURNING provider, kind, needs_probe, paused_until, reason, since, probes,
       (extract(epoch FROM paused_until - now()) * 1000)::float8 AS remaining_ms`,
      [
        request.provider,
        request.kind,
        NEEDS_PROBE.has(request.kind),
        request.pauseMs,
        redactSecretsIn(request.reason).slice(0, 500),
        wasLive,
      ],
    );
    const pause = toPause(rows[0]!);
    const started = !wasLive;
    if (started && request.announce) await enqueueOutbox(client, request.announce(pause));
    return { pause, started };
  });
}

/** The provider's pause while it holds (a lapsed rate limit is no pause), or null. */
export async function getProviderPause(db: Queryable, provider: ProviderName): Promise<ProviderPause | null> {
  const { rows } = await db.query<ProviderPauseRow>(
    `SELECT provider, kind, needs_probe, paused_until, reason, since, probes,
       (extract(epoch FROM paused_until - now()) * 1000)::float8 AS remaining_ms FROM provider_pauses
     WHERE provider = $1 AND (needs_probe OR paused_until > now())`,
    [provider],
  );
  return rows[0] ? toPause(rows[0]) : null;
}

/** Every pause that holds now. */
export async function listProviderPauses(db: Queryable): Promise<ProviderPause[]> {
  const { rows } = await db.query<ProviderPauseRow>(
    `SELECT provider, kind, needs_probe, paused_until, reason, since, probes,
       (extract(epoch FROM paused_until - now()) * 1000)::float8 AS remaining_ms FROM provider_pauses
     WHERE needs_probe OR paused_until > now() ORDER BY provider`,
  );
  return rows.map(toPause);
}

/**
 * Claims the next probe of paused providers whose probe is due: at most one replica gets each, and the next
 * probe is `probeIntervalMs` away whatever this one finds.
 */
export async function claimProviderProbes(db: Queryable, probeIntervalMs: number): Promise<ProviderPause[]> {
  const { rows } = await db.query<ProviderPauseRow>(
    `UPDATE provider_pauses
     SET paused_until = now() + $1::float8 * interval '1 millisecond', probes = probes + 1, updated_at = now()
     WHERE needs_probe AND paused_until <= now()
     RETURNING provider, kind, needs_probe, paused_until, reason, since, probes,
       (extract(epoch FROM paused_until - now()) * 1000)::float8 AS remaining_ms`,
    [probeIntervalMs],
  );
  return rows.map(toPause);
}

/**
 * Ends a provider's pause after a successful probe (or when an operator says so). Returns the pause that
 * ended, or null when there was none.
 */
export async function resumeProvider(db: Queryable, provider: ProviderName): Promise<ProviderPause | null> {
  const { rows } = await db.query<ProviderPauseRow>(
    `DELETE FROM provider_pauses WHERE provider = $1
     RETURNING provider, kind, needs_probe, paused_until, reason, since, probes,
       (extract(epoch FROM paused_until - now()) * 1000)::float8 AS remaining_ms`,
    [provider],
  );
  return rows[0] ? toPause(rows[0]) : null;
}

/**
 * How many of a provider's pending batches checked within the last `windowMs` are waiting for a 404 to be
 * confirmed, and how many of its batches the provider answered since the first of those 404s: many 404s at once
 * and no answer since means the provider (or our way to it) is wrong, not the batches.
 */
export async function measureNotFound(
  db: Queryable,
  provider: ProviderName,
  windowMs: number,
): Promise<{ notFound: number; checked: number; answeredSince: number }> {
  const { rows } = await db.query<{ not_found: number; checked: number; answered_since: number }>(
    `WITH recent AS (
       SELECT not_found_at FROM batch_jobs_vp_logs
       WHERE provider = $1 AND status = ${BatchStatus.pending} AND last_checked_at > now() - $2::float8 * interval '1 millisecond'
     )
     SELECT (SELECT count(*) FILTER (WHERE not_found_at IS NOT NULL) FROM recent)::int AS not_found,
            (SELECT count(*) FROM recent)::int AS checked,
            (SELECT count(*) FROM batch_jobs_vp_logs
             WHERE provider = $1 AND last_poll_error IS NULL AND provider_status IS DISTINCT FROM 'not_found'
               AND last_checked_at > (SELECT min(not_found_at) FROM recent))::int AS answered_since`,
    [provider, windowMs],
  );
  const row = rows[0]!;
  return { notFound: row.not_found, checked: row.checked, answeredSince: row.answered_since };
}

/**
 * How many of the given provider batch ids (a page of the provider's batch list) are batches of ours the
 * provider has not answered 404 for: one is enough to show that our key and base URL reach our project.
 */
export async function countKnownListedBatches(
  db: Queryable,
  provider: ProviderName,
  providerBatchIds: readonly string[],
): Promise<number> {
  if (providerBatchIds.length === 0) return 0;
  const { rows } = await db.query<{ known: number }>(
    `SELECT count(*)::int AS known FROM batch_jobs_vp_logs
     WHERE provider = $1 AND batch_id = ANY($2::text[]) AND not_found_at IS NULL
       AND provider_status IS DISTINCT FROM 'not_found'`,
    [provider, providerBatchIds],
  );
  return rows[0]!.known;
}

/** The provider batch id of the pending batch that has waited longest for its 404 to be confirmed, or null. */
export async function oldestNotFoundBatch(db: Queryable, provider: ProviderName): Promise<string | null> {
  const { rows } = await db.query<{ batch_id: string }>(
    `SELECT batch_id FROM batch_jobs_vp_logs
     WHERE provider = $1 AND status = ${BatchStatus.pending} AND not_found_at IS NOT NULL
     ORDER BY not_found_at LIMIT 1`,
    [provider],
  );
  return rows[0]?.batch_id ?? null;
}
