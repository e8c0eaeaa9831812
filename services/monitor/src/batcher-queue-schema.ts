import { z } from 'zod';

// The batcher's queue in the admin API's monitoring answer (issue 16), declared once like api-schema.ts (zod only, so
// the dashboard can import its types).

const Timestamp = z.iso.datetime();

/** Why a group of the batcher's queue gets no batch now (docs/operations.md, "The batcher's queue"). */
export const BatcherWaitSchema = z.enum([
  'not_due',
  'token_limit',
  'budget',
  'paused',
  'disabled',
  'undeclared_job_type',
]);
export type BatcherWait = z.infer<typeof BatcherWaitSchema>;

/** One group (job type, provider, model) of the batcher's queue, as the batcher wrote it at the end of a tick. */
export const BatcherQueueGroupSchema = z.strictObject({
  jobType: z.string(),
  provider: z.string(),
  model: z.string(),
  pending: z.number().int(),
  oldestAgeSeconds: z.number().int(),
  /** Null while no batch can be made (paused, disabled, job type not declared). */
  nextBatchDueAt: Timestamp.nullable(),
  paused: z.boolean(),
  /** Null: its batch is being made. */
  waitingFor: BatcherWaitSchema.nullable(),
  /** The job type's daily budget (UTC day) and its batches' estimated cost today; null without a budget. */
  budget: z.strictObject({ dailyUsd: z.number(), spentTodayUsd: z.number() }).nullable(),
  updatedAt: Timestamp,
  /** The batcher has not rewritten the row for several ticks: it is not running, the figures are old. */
  stale: z.boolean(),
});
export type BatcherQueueGroup = z.infer<typeof BatcherQueueGroupSchema>;
