import type { BatchProvider, ProviderBatch } from '@batchline/providers';
import {
  type BatchMakerDeps,
  IDEMPOTENCY_METADATA_KEY,
  type MakeOutcome,
  makePlannedBatch,
  recordCreatedBatch,
} from './batch-maker.ts';
import type { PlannedBatch } from './store/planned-batches.ts';

/** Batches listed a page at a time while looking for a planned batch's. */
const LIST_PAGE = 100;
/** Provider batches created this long before the planned batch cannot be it (clocks differ a little). */
const CLOCK_SLACK_MS = 10 * 60_000;

const idempotencyKeyOf = (batch: ProviderBatch): string | undefined =>
  (batch.raw as { metadata?: Record<string, string> | null }).metadata?.[IDEMPOTENCY_METADATA_KEY];

/**
 * The provider's batch made for a planned batch, found by the idempotency key in its metadata. The list is newest
 * first; it is read back to a little before the planned batch was written, no further.
 */
export async function findProviderBatch(
  provider: BatchProvider,
  planned: PlannedBatch,
): Promise<ProviderBatch | null> {
  const oldest = planned.createdAt.getTime() - CLOCK_SLACK_MS;
  let after: string | undefined;
  for (;;) {
    const page = await provider.listBatches({ after, limit: LIST_PAGE });
    const found = page.batches.find((batch) => idempotencyKeyOf(batch) === planned.idempotencyKey);
    if (found) return found;
    const last = page.batches.at(-1);
    if (!page.hasMore || page.lastId === null || last === undefined || last.createdAt < oldest) return null;
    after = page.lastId;
  }
}

/**
 * Finishes a planned batch whose maker died or failed: when the provider has its batch (created, not recorded), it
 * is recorded; when not (killed before or during the upload, or the create failed), it is made again under the same
 * idempotency key. Either way its requests end in exactly one recorded batch.
 */
export async function reconcilePlannedBatch(
  deps: BatchMakerDeps,
  planned: PlannedBatch,
): Promise<MakeOutcome> {
  let existing: ProviderBatch | null;
  try {
    existing = await findProviderBatch(deps.provider, planned);
  } catch (error) {
    deps.log.warn({ err: error, plannedBatch: planned.id }, 'provider batch list unreadable; retried later');
    return { outcome: 'deferred', reason: error instanceof Error ? error.message : String(error) };
  }
  deps.log.info(
    { plannedBatch: planned.id, providerBatchId: existing?.id ?? null },
    existing
      ? 'planned batch found at the provider; recording it'
      : 'planned batch not at the provider; making it',
  );
  return existing ? recordCreatedBatch(deps, planned, existing) : makePlannedBatch(deps, planned);
}
