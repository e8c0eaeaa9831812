import { z } from 'zod';
import { Provider } from './common.ts';

/**
 * `batch.requests.enqueued` — one request of any job type waiting for the batcher to put it in a batch. The
 * request id is the job type's input id (an integer or a string, checked against the job type by the batcher); a
 * request id enqueued twice for one job type is one request. `fields` are the job type's input fields.
 * Publishers use `<jobType>:<requestId>` as the msg id.
 */
export const BatchRequestEnqueuedEvent = z.object({
  jobType: z.string().min(1).max(63),
  requestId: z.union([z.number().int().positive(), z.string().min(1).max(64)]),
  fields: z.record(z.string(), z.string()),
  /** The provider and model to batch it with; the batcher's defaults when absent. */
  provider: Provider.optional(),
  model: z.string().min(1).max(100).optional(),
});
export type BatchRequestEnqueuedEvent = z.infer<typeof BatchRequestEnqueuedEvent>;

/** The msg id of an enqueued request: JetStream drops a second publish of it within its duplicate window. */
export const enqueuedRequestMsgId = (
  event: Pick<BatchRequestEnqueuedEvent, 'jobType' | 'requestId'>,
): string => `enqueued:${event.jobType}:${event.requestId}`;
