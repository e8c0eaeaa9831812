import { z } from 'zod';
import { EndReason, Provider, ProviderError, RequestCounts, Timestamp } from './common.ts';

/** `batch.status.changed` — the poller saw the provider's status of a batch change (or ended it itself). */
export const StatusChangedEvent = z.object({
  batchLogId: z.number().int().positive(),
  provider: Provider,
  providerBatchId: z.string().min(1),
  previousProviderStatus: z.string().nullable(),
  providerStatus: z.string().min(1),
  /** Set when the batch will not progress further at the provider (a terminal status, 404, or max age). */
  terminal: z.boolean(),
  /** Why it ended, when terminal. */
  reason: EndReason.nullable(),
  inputFileId: z.string().nullable(),
  outputFileId: z.string().nullable(),
  errorFileId: z.string().nullable(),
  requestCounts: RequestCounts.nullable(),
  /** The provider's batch-level errors (e.g. input validation of a `failed` batch). */
  providerErrors: z.array(ProviderError),
  observedAt: Timestamp,
});
export type StatusChangedEvent = z.infer<typeof StatusChangedEvent>;
