import { z } from 'zod';
import { EndReason, FinalStatus, Provider, Timestamp } from './common.ts';

/** The version of `batch.finalized`'s schema this code publishes. */
export const BATCH_FINALIZED_VERSION = 1;

/**
 * `batch.finalized` — the persister set a final status (2 or 9) after every chunk had landed. A public event
 * (docs/events.md): fields are only ever added; a change that removes or redefines one raises `version`.
 */
export const BatchFinalizedEvent = z.object({
  /**
   * Events recorded before the field existed have none: they read as version 1, whose fields are exactly theirs,
   * so the streams' older messages replay unchanged.
   */
  version: z.literal(BATCH_FINALIZED_VERSION).default(BATCH_FINALIZED_VERSION),
  batchLogId: z.number().int().positive(),
  provider: Provider,
  providerBatchId: z.string().min(1),
  status: FinalStatus,
  reason: EndReason,
  providerStatus: z.string(),
  totalSentences: z.number().int().nonnegative(),
  processedSentences: z.number().int().nonnegative(),
  failedSentences: z.number().int().nonnegative(),
  associations: z.number().int().nonnegative(),
  topErrors: z.array(z.object({ code: z.string(), count: z.number().int().positive() })),
  invalidLines: z.number().int().nonnegative(),
  submittedAt: Timestamp,
  providerTerminalAt: Timestamp.nullable(),
  landedAt: Timestamp,
  /**
   * How big the result files were, and how fast the batch landed: its outcome rows over the time from its first
   * chunk's transaction to the final one. Absent when the fetch did not measure the download.
   */
  throughput: z
    .object({
      downloadBytes: z.number().int().nonnegative(),
      landedRows: z.number().int().nonnegative(),
      landedRowsPerSecond: z.number().nonnegative(),
    })
    .optional(),
});
export type BatchFinalizedEvent = z.infer<typeof BatchFinalizedEvent>;
