import type { ResultRecord } from '@batchline/domain';
import { z } from 'zod';
import { EndReason, FinalStatus, Provider, ProviderError } from './common.ts';

/** Unattributable lines of the result files, reported with the batch's last chunk. */
export const InvalidLines = z.object({
  count: z.number().int().nonnegative(),
  /** The first few, with where they were. */
  samples: z.array(z.object({ file: z.string(), line: z.number().int().positive(), error: z.string() })),
});
export type InvalidLines = z.infer<typeof InvalidLines>;

/** What the fetcher knows about the whole batch once every line has been read; travels in the last chunk. */
export const ResultsSummary = z.object({
  finalStatus: FinalStatus,
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
  /**
   * Bytes of the result lines read (output and error files, each line counted once, so a re-fetch gives the same
   * chunks); absent in chunks from before it was added.
   */
  download: z.object({ bytes: z.number().int().nonnegative() }).optional(),
});
export type ResultsSummary = z.infer<typeof ResultsSummary>;

const positiveId = z.number().int().positive();
const tokenCount = z.number().int().nonnegative().nullable();

/**
 * One request outcome as it travels in `batch.results.parsed`: the tuple `[customId, sentenceId, viewpointIds,
 * errorCode, errorMessage, promptTokens, completionTokens]`, a third of the bytes of the object form (a batch
 * sends 50,000), decoded to a `ResultRecord`: succeeded when `errorCode` is null, and then only with viewpoints.
 */
export const ResultRecordTuple = z
  .tuple([
    z.string({ error: 'customId must be a string' }).min(1).max(512),
    positiveId.nullable(),
    z.array(positiveId),
    z.string().min(1).nullable(),
    z.string().nullable(),
    tokenCount,
    tokenCount,
  ])
  .refine(([, , viewpointIds, errorCode]) => errorCode === null || viewpointIds.length === 0, {
    message: 'a failed record (errorCode set) has no viewpoints',
  });
export type ResultRecordTuple = z.infer<typeof ResultRecordTuple>;

/**
 * The tuple of a record (the wire form, unchecked: `ResultRecordTuple` checks it where it is read). A failed
 * record without an error code gets an empty one, which that check refuses rather than reading it as succeeded.
 */
export const resultRecordTuple = (record: ResultRecord): ResultRecordTuple => [
  record.customId,
  record.sentenceId,
  record.viewpointIds,
  record.outcome === 'succeeded' ? null : (record.errorCode ?? ''),
  record.errorMessage,
  record.promptTokens,
  record.completionTokens,
];

const ResultRecordWire = z.codec(ResultRecordTuple, z.custom<ResultRecord>(), {
  decode: ([
    customId,
    sentenceId,
    viewpointIds,
    errorCode,
    errorMessage,
    promptTokens,
    completionTokens,
  ]) => ({
    customId,
    sentenceId,
    outcome: errorCode === null ? ('succeeded' as const) : ('failed' as const),
    viewpointIds,
    errorCode,
    errorMessage,
    promptTokens,
    completionTokens,
  }),
  encode: resultRecordTuple,
});

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
    records: z.array(ResultRecordWire),
    summary: ResultsSummary.nullable(),
  })
  .refine((e) => e.last === (e.chunkCount !== null) && e.last === (e.summary !== null), {
    message: 'chunkCount and summary are set on the last chunk and only there',
  })
  .refine((e) => !e.last || e.chunkSeq === (e.chunkCount ?? 0) - 1, {
    message: 'the last chunk has sequence chunkCount - 1',
  });
export type ResultsParsedEvent = z.infer<typeof ResultsParsedEvent>;
