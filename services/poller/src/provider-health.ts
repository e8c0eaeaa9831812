import type { Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import { type OpsErrorDetails, opsErrorEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { API_KEY_VARIABLE, ProviderError, type ProviderSet } from '@batchline/providers';
import {
  claimProviderProbes,
  countKnownListedBatches,
  measureNotFound,
  type ProviderPause,
  type ProviderPauseKind,
  pauseProvider,
  resumeProvider,
} from './store/provider-pauses.ts';

export interface ProviderHealthOptions {
  pool: Pool;
  providers: ProviderSet;
  log: Logger;
  /** A 429 without Retry-After pauses the provider this long. */
  rateLimitPauseMs: number;
  /** Pauses ended by a probe are probed this often. */
  probeIntervalMs: number;
}

/** Batches that 404 within this window count towards the systemic-404 guard. */
export const NOT_FOUND_WINDOW_MS = 15 * 60_000;
/**
 * With no other sign that the provider knows us, at least this many batches 404ing at once, and at least this
 * share of those checked, is systemic.
 */
export const SYSTEMIC_NOT_FOUND_MIN = 3;
export const SYSTEMIC_NOT_FOUND_SHARE = 0.5;
/** How much of the provider's batch list (newest first) is read to look for batches of ours. */
const LIST_PAGE = 100;

const ANNOUNCEMENT: Record<
  ProviderPauseKind,
  (provider: ProviderName) => Omit<OpsErrorDetails, 'service' | 'provider' | 'message' | 'since'>
> = {
  rate_limited: () => ({
    kind: 'provider_rate_limited',
    severity: 'medium',
    nextStep:
      'Nothing to do if it passes: every poller waits for Retry-After. If it lasts, lower POLL_CHUNK or raise the limits.',
  }),
  quota: () => ({
    kind: 'provider_quota',
    severity: 'high',
    nextStep:
      'Add credit or raise the quota at the provider; checks resume by themselves once a probe succeeds.',
  }),
  auth: (provider) => ({
    kind: 'provider_auth',
    severity: 'critical',
    nextStep: `Fix ${API_KEY_VARIABLE[provider]}; checks resume by themselves once a probe succeeds. No batch is failed meanwhile.`,
  }),
  not_found: (provider) => ({
    kind: 'provider_not_found',
    severity: 'critical',
    nextStep: `Check ${provider === 'openai' ? 'OPENAI_BASE_URL' : 'ANTHROPIC_BASE_URL'} and the key's organisation/project; no batch is ended as not_found meanwhile.`,
  }),
};

/** How a provider error pauses its provider, if it does. */
export function pauseKindOf(error: ProviderError): ProviderPauseKind | null {
  switch (error.kind) {
    case 'rate_limited':
      return 'rate_limited';
    case 'quota':
      return 'quota';
    case 'auth':
      return 'auth';
    default:
      return null;
  }
}

/**
 * Pauses every check against a provider (for every replica), announcing the pause once when it starts. A rate
 * limit lasts its Retry-After; the others last until a probe succeeds.
 */
export async function pauseForError(
  options: ProviderHealthOptions,
  provider: ProviderName,
  kind: ProviderPauseKind,
  error: ProviderError | null,
  reason: string,
): Promise<ProviderPause> {
  const pauseMs =
    kind === 'rate_limited'
      ? Math.max(error?.retryAfterMs ?? options.rateLimitPauseMs, 1)
      : options.probeIntervalMs;
  const { pause, started } = await pauseProvider(options.pool, {
    provider,
    kind,
    pauseMs,
    reason,
    announce: (pause) =>
      opsErrorEvent({
        service: 'poller',
        ...ANNOUNCEMENT[kind](provider),
        provider,
        message: `${provider}: every status check is paused (${kind.replace('_', ' ')}): ${reason}`,
        detail: error?.message ?? null,
        since: pause.since,
      }),
  });
  if (started) {
    options.log.warn({ provider, kind, pausedUntil: pause.pausedUntil, reason }, 'provider paused');
  }
  return pause;
}

/**
 * Whether the provider's batch list (its newest page) holds a batch of ours that it has not answered 404 for:
 * then our key and base URL reach our project, and a batch that 404s is really gone. Throws the list's
 * `ProviderError` when it fails.
 */
async function listShowsOurBatches(options: ProviderHealthOptions, provider: ProviderName): Promise<boolean> {
  const page = await options.providers.get(provider).listBatches({ limit: LIST_PAGE });
  const ids = page.batches.map((batch) => batch.id);
  return (await countKnownListedBatches(options.pool, provider, ids)) > 0;
}

/**
 * Whether 404s for a provider's batches are the provider's (or our way to it) rather than the batches': the
 * provider's batch list answers 404 too (a wrong base URL), or many of the batches checked lately 404 at once
 * while nothing shows that the provider knows us (a key of another project). The provider knows us when its
 * batch list shows one of our batches, or when it answered a check of one since the 404s began; then the batches
 * that 404 are gone, however many. Throws the canary's error when it failed otherwise (the answer is not known
 * yet).
 */
export async function isSystemicNotFound(
  options: ProviderHealthOptions,
  provider: ProviderName,
): Promise<boolean> {
  try {
    if (await listShowsOurBatches(options, provider)) return false;
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'not_found') return true;
    throw error;
  }
  const { notFound, checked, answeredSince } = await measureNotFound(
    options.pool,
    provider,
    NOT_FOUND_WINDOW_MS,
  );
  if (answeredSince > 0) return false;
  return notFound >= SYSTEMIC_NOT_FOUND_MIN && notFound >= checked * SYSTEMIC_NOT_FOUND_SHARE;
}

/**
 * Probes the paused providers whose probe is due (one replica each): a provider that answers again is resumed.
 * A 404 pause ends when the provider's batch list shows one of our batches (the 404s were the batches' own: their
 * confirming checks will end them) or when it knows again a batch it had answered 404 for (or none is left).
 */
export async function runDueProbes(
  options: ProviderHealthOptions & { oldestNotFoundBatch(provider: ProviderName): Promise<string | null> },
): Promise<ProviderName[]> {
  const resumed: ProviderName[] = [];
  for (const pause of await claimProviderProbes(options.pool, options.probeIntervalMs)) {
    const log = options.log.child({ provider: pause.provider, kind: pause.kind, probe: pause.probes });
    try {
      const knowsUs = await listShowsOurBatches(options, pause.provider);
      if (pause.kind === 'not_found' && !knowsUs) {
        const batchId = await options.oldestNotFoundBatch(pause.provider);
        if (batchId !== null) await options.providers.get(pause.provider).getBatch(batchId);
      }
    } catch (error) {
      log.warn({ err: error }, 'provider probe failed; checks stay paused');
      if (error instanceof ProviderError && pause.kind !== 'auth' && error.kind === 'auth') {
        await pauseForError(options, pause.provider, 'auth', error, error.message);
      }
      continue;
    }
    const ended = await resumeProvider(options.pool, pause.provider);
    if (ended) {
      log.info({ pausedSince: ended.since, probes: ended.probes }, 'provider answers again; checks resumed');
      resumed.push(pause.provider);
    }
  }
  return resumed;
}
