import { z } from 'zod';
import { Provider, Timestamp } from './common.ts';

/** The version of `job.finalized`'s schema this code publishes. */
export const JOB_FINALIZED_VERSION = 1;

/**
 * `job.finalized` — a batch job ended: its last batch is final and no retry round is left to make. Published once per
 * job (with the job's final mark, in one transaction). A public event (docs/events.md): fields are only ever added;
 * a change that removes or redefines one raises `version`.
 */
export const JobFinalizedEvent = z.object({
  version: z.literal(JOB_FINALIZED_VERSION),
  batchJobId: z.number().int().positive(),
  jobType: z.string().min(1),
  provider: Provider,
  model: z.string().nullable(),
  /** Every request succeeded, some did, or none did. */
  outcome: z.enum(['succeeded', 'partially_succeeded', 'failed']),
  totalRequests: z.number().int().nonnegative(),
  succeededRequests: z.number().int().nonnegative(),
  failedRequests: z.number().int().nonnegative(),
  /** The job's batches: its parts and every retry round. */
  batches: z.number().int().positive(),
  retryRounds: z.number().int().nonnegative(),
  /** The most frequent error codes of the requests that finally failed. */
  topErrors: z.array(z.object({ code: z.string(), count: z.number().int().positive() })),
  createdAt: Timestamp,
  finalizedAt: Timestamp,
});
export type JobFinalizedEvent = z.infer<typeof JobFinalizedEvent>;
