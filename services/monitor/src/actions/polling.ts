import { withTransaction } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import { ApiError } from '../api-error.ts';
import { audit, type RequestContext } from '../request-context.ts';
import {
  type BatchControlResult,
  setBatchPollingPaused,
  setBatchPollPriority,
  setPollingPaused,
  setProviderBatchesPollingPaused,
} from '../store/polling-control.ts';
import { type ActionDeps, batchNotFound } from './action-deps.ts';

function controlOutcome(result: BatchControlResult, id: number, what: string): void {
  if (result === 'not_found') throw batchNotFound(id);
  if (result === 'final')
    throw new ApiError(409, 'batch_final', `batch log ${id} is final: ${what} does not apply`);
}

/** What a pause or resume applies to: every status check, a provider's pending batches, or one pending batch. */
export type PollingScope = 'all' | { provider: ProviderName } | { batchLogId: number };

const scopeTarget = (scope: PollingScope): string => {
  if (scope === 'all') return 'all';
  return 'provider' in scope ? `provider:${scope.provider}` : String(scope.batchLogId);
};

/**
 * Pauses or resumes status checks in `scope`, audited in one transaction. Returns how many pending batches a
 * provider's pause or resume applied to (null for the other scopes).
 */
export async function setPolling(
  deps: ActionDeps,
  context: RequestContext,
  paused: boolean,
  scope: PollingScope,
): Promise<number | null> {
  const action = paused ? 'polling.pause' : 'polling.resume';
  const batches = await withTransaction(deps.pool, async (client) => {
    let changed: number | null = null;
    if (scope === 'all') await setPollingPaused(client, paused, context.principal!.actor);
    else if ('provider' in scope)
      changed = await setProviderBatchesPollingPaused(client, scope.provider, paused);
    else {
      const id = scope.batchLogId;
      controlOutcome(await setBatchPollingPaused(client, id, paused), id, paused ? 'pausing' : 'resuming');
    }
    await audit(client, context, {
      action,
      target: scopeTarget(scope),
      outcome: 'success',
      statusCode: 200,
      details: changed === null ? null : { batches: changed },
    });
    return changed;
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: paused ? 'pause' : 'resume', outcome: 'success' });
  return batches;
}

/** Sets which pending batches the poller checks first, audited in one transaction. */
export async function setPriority(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
  priority: number,
): Promise<void> {
  await withTransaction(deps.pool, async (client) => {
    controlOutcome(await setBatchPollPriority(client, id, priority), id, 'a priority');
    await audit(client, context, {
      action: 'batch.priority',
      target: String(id),
      outcome: 'success',
      statusCode: 200,
      details: { priority },
    });
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: 'priority', outcome: 'success' });
}
