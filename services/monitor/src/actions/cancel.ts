import { withTransaction } from '@batchline/db';
import { ApiError } from '../api-error.ts';
import type { CancelResult } from '../api-schema.ts';
import { audit, type RequestContext } from '../request-context.ts';
import { lockCancelTarget, makeStatusCheckDue } from '../store/cancellations.ts';
import { type ActionDeps, batchNotFound, failureAnswer, providerOf } from './action-deps.ts';

/**
 * Checks, under the batch row lock, that the batch can be cancelled, and commits the `started` audit record.
 * Returns the batch's provider and provider batch id.
 */
async function startCancel(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
): Promise<{ provider: string; batchId: string }> {
  return withTransaction(deps.pool, async (client) => {
    const batch = await lockCancelTarget(client, id);
    if (!batch) throw batchNotFound(id);
    if (!batch.pending)
      throw new ApiError(409, 'batch_final', `batch log ${id} is final and cannot be cancelled`);
    if (batch.providerTerminalAt !== null) {
      throw new ApiError(
        409,
        'provider_finished',
        `the provider has finished batch log ${id}; its results are landing`,
      );
    }
    providerOf(deps, batch.provider);
    await audit(client, context, { action: 'batch.cancel', target: String(id), outcome: 'started' });
    return { provider: batch.provider, batchId: batch.batchId };
  });
}

/**
 * Cancels a pending batch at the provider. Its audit record commits (with the batch row lock, which checks that
 * it is still pending) before the call; the outcome is a second record. The poller then sees the batch cancelling
 * and cancelled, and whatever output it has still lands before it is marked failed (docs/interface.md §3).
 */
export async function cancelBatch(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
): Promise<CancelResult> {
  const target = String(id);
  const batch = await startCancel(deps, context, id);
  const provider = providerOf(deps, batch.provider);
  try {
    const cancelled = await provider.cancelBatch(batch.batchId);
    await withTransaction(deps.pool, async (client) => {
      // Check it soon, so that the cancellation shows without waiting for the next scheduled check.
      await makeStatusCheckDue(client, id);
      await audit(client, context, {
        action: 'batch.cancel',
        target,
        outcome: 'success',
        statusCode: 202,
        details: { providerBatchId: batch.batchId, providerStatus: cancelled.status },
      });
    });
    context.audited = true;
    deps.metrics.actions.inc({ action: 'cancel', outcome: 'success' });
    return { id, batchId: batch.batchId, providerStatus: cancelled.status };
  } catch (error) {
    const answer = failureAnswer(deps, error);
    await audit(deps.pool, context, {
      action: 'batch.cancel',
      target,
      outcome: 'failed',
      statusCode: answer.status,
      details: { code: answer.code },
    });
    context.audited = true;
    deps.metrics.actions.inc({ action: 'cancel', outcome: 'failed' });
    throw answer;
  }
}
