import { withTransaction } from '@batchline/db';
import { ApiError } from '../api-error.ts';
import { audit, type RequestContext } from '../request-context.ts';
import {
  type BatchControlResult,
  setBatchPollingPaused,
  setBatchPollPriority,
  setPollingPaused,
} from '../store/polling-control.ts';
import { type ActionDeps, batchNotFound } from './action-deps.ts';

function controlOutcome(result: BatchControlResult, id: number, what: string): void {
  if (result === 'not_found') throw batchNotFound(id);
  if (result === 'final')
    throw new ApiError(409, 'batch_final', `batch log ${id} is final: ${what} does not apply`);
}

/** Pauses or resumes status checks of every batch (`id` null) or of one pending batch, audited in one transaction. */
export async function setPolling(
  deps: ActionDeps,
  context: RequestContext,
  paused: boolean,
  id: number | null,
): Promise<void> {
  const action = paused ? 'polling.pause' : 'polling.resume';
  await withTransaction(deps.pool, async (client) => {
    if (id === null) await setPollingPaused(client, paused, context.principal!.actor);
    else controlOutcome(await setBatchPollingPaused(client, id, paused), id, paused ? 'pausing' : 'resuming');
    await audit(client, context, {
      action,
      target: id === null ? 'all' : String(id),
      outcome: 'success',
      statusCode: 200,
    });
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: paused ? 'pause' : 'resume', outcome: 'success' });
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
