import { ResultRecordSchema } from '@batchline/domain';
import { z } from 'zod';

/**
 * Every event's subject (without the namespace prefix) and its one schema. Types are inferred from the schemas;
 * publishers and consumers both validate against them.
 */
export const Subjects = {
  statusChanged: 'batch.status.changed',
  resultsParsed: 'batch.results.parsed',
  batchFinalized: 'batch.finalized',
} as const;
export type Subject = (typeof Subjects)[keyof typeof Subjects];

const Provider = z.enum(['openai', 'anthropic']);
const RequestCounts = z.object({
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
const ProviderError = z.object({
  code: z.string().nullable(),
  message: z.string().nullable(),
  line: z.number().int().nullable(),
});
const EndReason = z.enum([
  'completed',
  'failed',
  'expired',
  'cancelled',
  'not_found',
  'max_age',
  'results_unavailable',
]);

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
  observedAt: z.iso.datetime({ offset: true }),
});
export type StatusChangedEvent = z.infer<typeof StatusChangedEvent>;

/** Unattributable lines of the result files, reported with the batch's last chunk. */
export const InvalidLines = z.object({
  count: z.number().int().nonnegative(),
  /** The first few, with where they were. */
  samples: z.array(z.object({ file: z.string(), line: z.number().int().positive(), error: z.string() })),
});
export type InvalidLines = z.infer<typeof InvalidLines>;

/** What the fetcher knows about the whole batch once every line has been read; travels in the last chunk. */
export const ResultsSummary = z.object({
  finalStatus: z.union([z.literal(2), z.literal(9)]),
  reason: EndReason,
  providerStatus: z.string(),
  providerErrors: z.array(ProviderError),
  linesRead: z.object({ output: z.number().int().nonnegative(), error: z.number().int().nonnegative() }),
  invalidLines: InvalidLines,
  /** Lines whose custom_id had already been seen (the first one wins). */
  duplicateLines: z.number().int().nonnegative(),
  /** Lines whose custom_id is well-formed but not a request of this batch (not landed). */
  unexpectedLines: z.number().int().nonnegative(),
  /** Requests of the input file with no line in either file (recorded as `missing_result`). */
  missingResults: z.number().int().nonnegative(),
  /** Set when the input file could not be read, so `missing_result` could not be computed. */
  inputUnavailable: z.string().nullable(),
  /** Set when the results could not be downloaded at all. */
  downloadError: z.string().nullable(),
});
export type ResultsSummary = z.infer<typeof ResultsSummary>;

/**
 * `batch.results.parsed` — one chunk of validated request outcomes. Chunks of a batch are numbered from 0; the
 * last one says how many there are and carries the summary. Chunk boundaries are deterministic, so a re-fetch
 * yields the same chunks.
 */
export const ResultsParsedEvent = z
  .object({
    batchLogId: z.number().int().positive(),
    provider: Provider,
    providerBatchId: z.string().min(1),
    chunkSeq: z.number().int().nonnegative(),
    last: z.boolean(),
    /** Total number of chunks; set on the last chunk only. */
    chunkCount: z.number().int().positive().nullable(),
    records: z.array(ResultRecordSchema),
    summary: ResultsSummary.nullable(),
  })
  .refine((e) => e.last === (e.chunkCount !== null) && e.last === (e.summary !== null), {
    message: 'chunkCount and summary are set on the last chunk and only there',
  })
  .refine((e) => !e.last || e.chunkSeq === (e.chunkCount ?? 0) - 1, {
    message: 'the last chunk has sequence chunkCount - 1',
  });
export type ResultsParsedEvent = z.infer<typeof ResultsParsedEvent>;

/** `batch.finalized` — the persister set a final status (2 or 9) after every chunk had landed. */
export const BatchFinalizedEvent = z.object({
  batchLogId: z.number().int().positive(),
  provider: Provider,
  providerBatchId: z.string().min(1),
  status: z.union([z.literal(2), z.literal(9)]),
  reason: EndReason,
  providerStatus: z.string(),
  totalSentences: z.number().int().nonnegative(),
  processedSentences: z.number().int().nonnegative(),
  failedSentences: z.number().int().nonnegative(),
  associations: z.number().int().nonnegative(),
  topErrors: z.array(z.object({ code: z.string(), count: z.number().int().positive() })),
  invalidLines: z.number().int().nonnegative(),
  submittedAt: z.iso.datetime({ offset: true }),
  providerTerminalAt: z.iso.datetime({ offset: true }).nullable(),
  landedAt: z.iso.datetime({ offset: true }),
});
export type BatchFinalizedEvent = z.infer<typeof BatchFinalizedEvent>;

/** Subject → schema, so a consumer is typed by the subject it reads. */
export const EventSchemas = {
  [Subjects.statusChanged]: StatusChangedEvent,
  [Subjects.resultsParsed]: ResultsParsedEvent,
  [Subjects.batchFinalized]: BatchFinalizedEvent,
} as const;
export type EventOf<S extends Subject> = z.infer<(typeof EventSchemas)[S]>;
