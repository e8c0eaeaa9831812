import { z } from 'zod';
import { EndReason, FinalStatus, Provider, Timestamp } from './common.ts';

/** `batch.finalized` — the persister set a final status (2 or 9) after every chunk had landed. */
export const BatchFinalizedEvent = z.object({
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
