import { BatchStatus, END_REASONS, PROVIDERS, SEVERITIES } from '@batchline/domain';
import { z } from 'zod';

/** Fields several events share, each defined once from the domain's constants. */
export const Provider = z.enum(PROVIDERS);
export const FinalStatus = z.literal([BatchStatus.completed, BatchStatus.failed]);
export const Severity = z.enum(SEVERITIES);
export const EndReason = z.enum(END_REASONS);
export const Timestamp = z.iso.datetime({ offset: true });
export const RequestCounts = z.object({
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
export const ProviderError = z.object({
  code: z.string().nullable(),
  message: z.string().nullable(),
  line: z.number().int().nullable(),
});
