import { PoisonMessageError } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import type { BatchRequestEnqueuedEvent } from '@batchline/events';
import {
  type CatalogueEntry,
  checkEnqueuedRequest,
  type JobType,
  type JobTypeSet,
  loadCatalogue,
  promptTokens,
} from '@batchline/job-types';
import { type QueuedLine, queueRequest } from './store/queue.ts';

/** Catalogues change rarely; one read a minute per job type keeps intake from querying them per request. */
const CATALOGUE_TTL_MS = 60_000;

/** The providers the batcher makes batches for: those whose batch list carries our metadata (to reconcile by). */
const BATCHED_PROVIDERS: ReadonlySet<ProviderName> = new Set(['openai']);

export interface IntakeDeps {
  pool: Pool;
  jobTypes: JobTypeSet;
  defaultModel: string;
  now?: () => number;
}

/**
 * Turns an enqueued request into a queued request line: checks it against its job type (an unknown job type or a
 * bad field is a poison message, dead-lettered with why) and builds the provider's request line with the job
 * type's catalogue, so that its bytes and tokens are known before any batch is planned.
 */
export function requestLineBuilder(deps: IntakeDeps) {
  const now = deps.now ?? Date.now;
  const catalogues = new Map<string, { entries: Promise<CatalogueEntry[]>; readAt: number }>();
  const catalogueOf = (jobType: JobType): Promise<CatalogueEntry[]> => {
    const cached = catalogues.get(jobType.name);
    if (cached && now() - cached.readAt < CATALOGUE_TTL_MS) return cached.entries;
    const entries = loadCatalogue(deps.pool, jobType);
    // A failed read is not cached: the next request tries again.
    entries.catch(() => catalogues.delete(jobType.name));
    catalogues.set(jobType.name, { entries, readAt: now() });
    return entries;
  };
  return async (event: BatchRequestEnqueuedEvent): Promise<QueuedLine> => {
    const checked = checkEnqueuedRequest(deps.jobTypes, event);
    if ('problem' in checked) {
      throw new PoisonMessageError(
        `enqueued request ${event.requestId} of ${event.jobType}: ${checked.problem}`,
      );
    }
    const { jobType, record } = checked;
    const provider = event.provider ?? 'openai';
    if (!BATCHED_PROVIDERS.has(provider)) {
      throw new PoisonMessageError(
        `enqueued request ${event.requestId} of ${event.jobType}: the batcher makes ${[...BATCHED_PROVIDERS].join(', ')} batches only, not ${provider}`,
      );
    }
    const model = event.model ?? jobType.declaration.request.model ?? deps.defaultModel;
    const line = jobType.requestLine(provider, record, { model, catalogue: await catalogueOf(jobType) });
    return {
      jobType: jobType.name,
      requestId: String(record.id),
      provider,
      model,
      line: JSON.stringify(line),
      estimatedTokens: promptTokens(line.body as Record<string, unknown>),
    };
  };
}

/** The `batcher` consumer's handler: queues the request (once per job type and id); the bus acks after the commit. */
export function intakeHandler(deps: IntakeDeps) {
  const build = requestLineBuilder(deps);
  return async (event: BatchRequestEnqueuedEvent): Promise<void> => {
    await queueRequest(deps.pool, await build(event));
  };
}
