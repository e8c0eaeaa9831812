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
  PromptTokenCounter,
} from '@batchline/job-types';
import { type GroupCommitOptions, groupCommit } from './group-commit.ts';
import { type QueuedLine, queueRequests } from './store/queue.ts';

/** Catalogues change rarely; one read a minute per job type keeps intake from querying them per request. */
const CATALOGUE_TTL_MS = 60_000;

/** A group waits at most this long for more requests: a lone request is queued (and acked) within it. */
const GROUP_MAX_WAIT_MS = 5;

/**
 * How intake groups its INSERTs with `concurrency` deliveries in flight: a quarter of them a group, so that
 * several groups overlap (pulling and building go on while one commits) and a full group never waits for its timer.
 */
export const intakeGroups = (concurrency: number): GroupCommitOptions => ({
  maxItems: Math.max(1, Math.ceil(concurrency / 4)),
  maxWaitMs: GROUP_MAX_WAIT_MS,
});

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
  const tokens = new PromptTokenCounter();
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
      estimatedTokens: tokens.count(line.body as Record<string, unknown>),
    };
  };
}

/**
 * The `batcher` consumer's handler: queues the request (once per job type and id) together with the requests
 * other deliveries are queuing at the same time (one INSERT for the group, see `groupCommit`); it resolves after
 * that INSERT committed, so the bus acks after the commit, and a failed INSERT fails (and redelivers) every
 * request of the group.
 */
export function intakeHandler(deps: IntakeDeps & { group: GroupCommitOptions }) {
  const build = requestLineBuilder(deps);
  const queue = groupCommit((lines: readonly QueuedLine[]) => queueRequests(deps.pool, lines), deps.group);
  return async (event: BatchRequestEnqueuedEvent): Promise<void> => {
    await queue(await build(event));
  };
}
