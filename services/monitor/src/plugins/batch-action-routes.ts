import { readBatchProgress } from '@batchline/db';
import type { FastifyInstance } from 'fastify';
import type { ActionDeps } from '../actions/action-deps.ts';
import { cancelBatch } from '../actions/cancel.ts';
import { setPolling, setPriority } from '../actions/polling.ts';
import { retryFailedRequests } from '../actions/retry.ts';
import { requireOperator } from '../admin-guard.ts';
import type { CancelResult, JobData, PollingData, RetryResult, Success } from '../api-schema.ts';
import { pollingView } from '../api-views.ts';
import { jobView, type Pricing } from '../figures.ts';
import { getMonitoredJob } from '../store/jobs.ts';
import { getPollingState } from '../store/polling-control.ts';
import {
  EmptyBodySchema,
  PollingBodySchema,
  PrioritySchema,
  parseBatchLogId,
  parseBody,
  RetryBodySchema,
} from '../validation.ts';

export interface BatchActionRoutesOptions {
  actions: ActionDeps;
  pricing: Pricing;
}

/**
 * The actions (operators only, each audited): pause or resume every status check, a provider's pending batches, or
 * one batch's; set a batch's
 * polling priority; retry a final batch's failed requests; cancel a pending batch.
 */
export async function batchActionRoutes(
  app: FastifyInstance,
  { actions, pricing }: BatchActionRoutesOptions,
): Promise<void> {
  /** A batch after an action on it, as the job list shows it with details. */
  const jobData = async (id: number): Promise<Success<JobData>> => ({
    success: true,
    data: {
      job: jobView(
        (await getMonitoredJob(actions.pool, id))!,
        pricing,
        true,
        (await readBatchProgress(actions.pool, [id])).get(id),
      ),
    },
  });

  for (const paused of [true, false]) {
    const verb = paused ? 'pause' : 'resume';
    app.post(
      `/polling/${verb}`,
      { config: { action: `polling.${verb}` } },
      async (request): Promise<Success<PollingData>> => {
        const context = request.monitorContext!;
        requireOperator(context);
        const { provider } = parseBody(PollingBodySchema, request.body);
        const batches = await setPolling(actions, context, paused, provider ? { provider } : 'all');
        const polling = pollingView(await getPollingState(actions.pool));
        return { success: true, data: batches === null ? { polling } : { polling, batches } };
      },
    );
    app.post(`/:id/${verb}`, { config: { action: `polling.${verb}` } }, async (request) => {
      const context = request.monitorContext!;
      requireOperator(context);
      const id = parseBatchLogId(request.params);
      parseBody(EmptyBodySchema, request.body);
      await setPolling(actions, context, paused, { batchLogId: id });
      return jobData(id);
    });
  }

  app.post('/:id/priority', { config: { action: 'batch.priority' } }, async (request) => {
    const context = request.monitorContext!;
    requireOperator(context);
    const id = parseBatchLogId(request.params);
    const { priority } = parseBody(PrioritySchema, request.body);
    await setPriority(actions, context, id, priority);
    return jobData(id);
  });

  app.post('/:id/retry', { config: { action: 'batch.retry' } }, async (request, reply) => {
    const context = request.monitorContext!;
    requireOperator(context);
    const id = parseBatchLogId(request.params);
    const { codes } = parseBody(RetryBodySchema, request.body);
    const answer: Success<RetryResult> = {
      success: true,
      data: await retryFailedRequests(actions, context, id, codes ?? null),
    };
    return reply.code(201).send(answer);
  });

  app.post('/:id/cancel', { config: { action: 'batch.cancel' } }, async (request, reply) => {
    const context = request.monitorContext!;
    requireOperator(context);
    const id = parseBatchLogId(request.params);
    parseBody(EmptyBodySchema, request.body);
    const answer: Success<CancelResult> = { success: true, data: await cancelBatch(actions, context, id) };
    return reply.code(202).send(answer);
  });
}
