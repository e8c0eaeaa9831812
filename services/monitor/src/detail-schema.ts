import { z } from 'zod';
import {
  BatchJobFiguresSchema,
  BatchJobSchema,
  ErrorSummaryEntrySchema,
  JobBatchSchema,
} from './api-schema.ts';

// The answers of the read routes on one batch or job (issue 15), declared once like api-schema.ts (zod only, so
// the dashboard can import their types).

const Timestamp = z.iso.datetime();

/** What happened to a batch or job, from what the tables record (docs/interface.md §7 lists the events). */
export const TimelineEntrySchema = z.strictObject({
  at: Timestamp,
  event: z.string(),
  /** The batch it concerns; null for the job's own events. */
  batchLogId: z.number().int().positive().nullable(),
  detail: z.string().nullable(),
});
export type TimelineEntry = z.infer<typeof TimelineEntrySchema>;

/** `GET /:id`: a batch (`123`) or a job (`job-45`) with its figures, batches, error summary and timeline. */
export const DetailDataSchema = z.strictObject({
  kind: z.enum(['batch', 'job']),
  key: z.string(),
  /** The job (for a batch: the job it belongs to, null for a batch recorded without one). */
  job: BatchJobSchema.omit({ figures: true, batches: true }).nullable(),
  figures: BatchJobFiguresSchema,
  batches: z.array(JobBatchSchema),
  /** Final failures by error code; percentages of the requests in scope. */
  errorSummary: z.array(ErrorSummaryEntrySchema),
  timeline: z.array(TimelineEntrySchema),
});
export type DetailData = z.infer<typeof DetailDataSchema>;

/** One request's final outcome (for a job: succeeded if any round succeeded, else its latest failure). */
export const RequestOutcomeSchema = z.strictObject({
  customId: z.string(),
  outcome: z.enum(['succeeded', 'failed']),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  batchLogId: z.number().int().positive(),
  retryRound: z.number().int(),
  promptTokens: z.number().nullable(),
  completionTokens: z.number().nullable(),
  landedAt: Timestamp,
});
export type RequestOutcome = z.infer<typeof RequestOutcomeSchema>;

/** `GET /:id/requests`: one page of request outcomes. */
export const RequestsDataSchema = z.strictObject({
  key: z.string(),
  requests: z.array(RequestOutcomeSchema),
  pagination: z.strictObject({
    page: z.number().int(),
    limit: z.number().int(),
    total: z.number().int(),
    totalPages: z.number().int(),
  }),
});
export type RequestsData = z.infer<typeof RequestsDataSchema>;
