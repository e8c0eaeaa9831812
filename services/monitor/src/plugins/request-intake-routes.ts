import type { Queryable } from '@batchline/db';
import { BatchRequestEnqueuedEvent } from '@batchline/events';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AdminGuard } from '../admin-guard.ts';
import { requireOperator } from '../admin-guard.ts';
import { ApiError } from '../api-error.ts';
import type { Success } from '../api-schema.ts';
import { audit } from '../request-context.ts';
import { parseBody } from '../validation.ts';

/** Most requests one call takes (a larger set is several calls). */
const MAX_REQUESTS_PER_CALL = 10_000;
/** A bulk body is larger than the admin API's other bodies. */
const BODY_LIMIT_BYTES = 16 * 1024 * 1024;

export const EnqueueBodySchema = z
  .object({ requests: z.array(BatchRequestEnqueuedEvent).min(1).max(MAX_REQUESTS_PER_CALL) })
  .strict();
export const EnqueueResultSchema = z.object({
  accepted: z.number().int().nonnegative(),
  alreadyEnqueued: z.number().int().nonnegative(),
});

/** Where the intake is mounted: beside the monitoring routes, not under them. */
export const REQUEST_INTAKE_PATH = '/api/admin/requests';

export interface RequestIntakeOptions {
  guard: AdminGuard;
  /** Where the audit record of each call is written. */
  pool: Queryable;
  /** Why a request does not fit its job type (unknown job type, bad id or field), or null. */
  problemOf(request: BatchRequestEnqueuedEvent): string | null;
  /** Publishes one request on `batch.requests.enqueued`; true when JetStream already had it. */
  publish(request: BatchRequestEnqueuedEvent): Promise<boolean>;
}

/**
 * `POST /api/admin/requests` (operators): hands requests to the batcher by publishing each on
 * `batch.requests.enqueued`, after checking every one against its job type (one bad request refuses the call,
 * naming its index). Idempotent by request id: the batcher keeps one request per job type and id.
 */
export async function requestIntakeRoutes(app: FastifyInstance, options: RequestIntakeOptions) {
  app.addHook('onRequest', async (request, reply) => {
    options.guard.authenticate(request, reply);
  });
  app.post(
    '/',
    { bodyLimit: BODY_LIMIT_BYTES, config: { action: 'requests.enqueue' } },
    async (request, reply) => {
      const context = request.monitorContext!;
      requireOperator(context);
      const { requests } = parseBody(EnqueueBodySchema, request.body);
      requests.forEach((item, index) => {
        const problem = options.problemOf(item);
        if (problem !== null) throw new ApiError(400, 'invalid_request', `requests[${index}]: ${problem}`);
      });
      let alreadyEnqueued = 0;
      for (const item of requests) if (await options.publish(item)) alreadyEnqueued += 1;
      const result: z.infer<typeof EnqueueResultSchema> = { accepted: requests.length, alreadyEnqueued };
      await audit(options.pool, context, {
        action: 'requests.enqueue',
        target: null,
        outcome: 'success',
        statusCode: 202,
        details: result,
      });
      context.audited = true;
      const answer: Success<typeof result> = { success: true, data: result };
      return reply.code(202).send(answer);
    },
  );
}
