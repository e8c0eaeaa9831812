import type { ResultRecord, RowValue } from '@batchline/domain';
import { DEFAULT_JOB_TYPE } from '@batchline/job-types';
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
  /**
   * For a job type declaring `keepRawAnswers`: result lines of landed requests whose raw answer was not kept, being
   * over half a chunk's bytes (a chunk must stay under the server's max payload).
   */
  rawAnswersTooLong: z.number().int().nonnegative().optional(),
});
export type ResultsSummary = z.infer<typeof ResultsSummary>;

/** A request id as `JobType.parseCustomId` gives it: a positive integer, or 1–64 of [A-Za-z0-9_.-]. */
const REQUEST_ID_TEXT = /^[A-Za-z0-9_.-]{1,64}$/;
const isRequestId = (value: unknown): boolean =>
  value === null ||
  (typeof value === 'number' && Number.isInteger(value) && value > 0) ||
  (typeof value === 'string' && REQUEST_ID_TEXT.test(value));
const isTokenCount = (value: unknown): boolean =>
  value === null || (typeof value === 'number' && Number.isInteger(value) && value >= 0);

/**
 * Rows as they travel: each a row (the job type's value columns, in order), or — when the job type has exactly one
 * value column — that column's value alone (`[1, 2]`, not `[[1], [2]]`). Which of the two only the job type says:
 * the persister reads them with it (`rowsOfShipped`), checking every row's width.
 */
export type ShippedRows = (RowValue | RowValue[])[];

const isScalar = (value: unknown): boolean =>
  value === null ||
  typeof value === 'string' ||
  typeof value === 'boolean' ||
  (typeof value === 'number' && Number.isFinite(value));
const isVector = (value: unknown): boolean =>
  Array.isArray(value) && value.every((n) => typeof n === 'number' && Number.isFinite(n));
const isRowValue = (value: unknown): value is RowValue => isScalar(value) || isVector(value);
/** A row (an array of values) or a value: scalars, or arrays of numbers (vectors). */
const isShippedRow = (value: unknown): value is RowValue | RowValue[] =>
  isScalar(value) || (Array.isArray(value) && value.every(isRowValue));

/** What is wrong with a record's wire form: where (inside the tuple) and what. */
export interface RecordTupleIssue {
  path: number[];
  message: string;
}

/**
 * Checks one record's wire form, the tuple `[customId, requestId, rows, errorCode, errorMessage, promptTokens,
 * completionTokens]`; null when it is one. Written by hand rather than as a zod tuple: the persister checks 50,000
 * of them a batch, and this was a tenth of its CPU (docs/performance.md).
 */
export function recordTupleIssue(value: unknown): RecordTupleIssue | null {
  // The eighth element (cached prompt tokens) was added with issue 17: records of older events have seven.
  if (!Array.isArray(value) || (value.length !== 7 && value.length !== 8))
    return {
      path: [],
      message:
        'a record is the tuple [customId, requestId, rows, errorCode, errorMessage, promptTokens, completionTokens, cachedPromptTokens?]',
    };
  const [customId, requestId, rows, errorCode, errorMessage, promptTokens, completionTokens, cached] = value;
  if (typeof customId !== 'string' || customId.length < 1 || customId.length > 512)
    return { path: [0], message: 'customId must be a string of 1-512 characters' };
  if (!isRequestId(requestId))
    return { path: [1], message: 'a request id is a positive integer or 1-64 of [A-Za-z0-9_.-]' };
  if (!Array.isArray(rows)) return { path: [2], message: 'rows must be an array' };
  for (let i = 0; i < rows.length; i += 1)
    if (!isShippedRow(rows[i])) return { path: [2, i], message: 'a row is a value or an array of values' };
  if (errorCode !== null && (typeof errorCode !== 'string' || errorCode.length === 0))
    return { path: [3], message: 'errorCode must be null or a non-empty string' };
  if (errorMessage !== null && typeof errorMessage !== 'string')
    return { path: [4], message: 'errorMessage must be null or a string' };
  if (!isTokenCount(promptTokens)) return { path: [5], message: 'promptTokens must be null or a count' };
  if (!isTokenCount(completionTokens))
    return { path: [6], message: 'completionTokens must be null or a count' };
  if (value.length === 8 && !isTokenCount(cached))
    return { path: [7], message: 'cachedPromptTokens must be null or a count' };
  if (errorCode !== null && rows.length > 0)
    return { path: [], message: 'a failed record (errorCode set) has no rows' };
  return null;
}

/**
 * One request outcome as it travels in `batch.results.parsed`: the tuple `[customId, requestId, rows, errorCode,
 * errorMessage, promptTokens, completionTokens, cachedPromptTokens?]`, a third of the bytes of the object form (a batch
 * sends 50,000), decoded to a `ShippedRecord`: succeeded when `errorCode` is null, and only then with rows.
 */
export const ResultRecordTuple = z
  .custom<
    [
      string,
      number | string | null,
      ShippedRows,
      string | null,
      string | null,
      number | null,
      number | null,
      (number | null)?,
    ]
  >()
  .check((ctx) => {
    const issue = recordTupleIssue(ctx.value);
    if (issue)
      ctx.issues.push({ code: 'custom', input: ctx.value, path: issue.path, message: issue.message });
  });
export type ResultRecordTuple = z.infer<typeof ResultRecordTuple>;

/** A `ResultRecord` as it travels: its rows as `shippedRows` made them. */
export type ShippedRecord = Omit<ResultRecord, 'rows'> & { rows: ShippedRows };

/** The rows of a job type with `rowWidth` value columns as they travel: flat when it has one. */
export const shippedRows = (rows: RowValue[][], rowWidth: number): ShippedRows =>
  rowWidth === 1 ? rows.map((row) => row[0]!) : rows;

/**
 * The tuple of a record with its rows as they travel (the wire form, unchecked: `ResultRecordTuple` checks it where
 * it is read). A failed record without an error code gets an empty one, which that check refuses rather than
 * reading it as succeeded.
 */
export const resultRecordTuple = (
  record: Omit<ShippedRecord, 'rows'>,
  rows: ShippedRows,
): ResultRecordTuple => {
  const tuple: ResultRecordTuple = [
    record.customId,
    record.requestId,
    rows,
    record.outcome === 'succeeded' ? null : (record.errorCode ?? ''),
    record.errorMessage,
    record.promptTokens,
    record.completionTokens,
  ];
  if (typeof record.cachedPromptTokens === 'number') tuple.push(record.cachedPromptTokens);
  return tuple;
};

/** The record a checked tuple (see `recordTupleIssue`) stands for. */
export const shippedRecord = ([
  customId,
  requestId,
  rows,
  errorCode,
  errorMessage,
  promptTokens,
  completionTokens,
  cached,
]: ResultRecordTuple): ShippedRecord => ({
  customId,
  requestId,
  outcome: errorCode === null ? ('succeeded' as const) : ('failed' as const),
  rows,
  errorCode,
  errorMessage,
  promptTokens,
  completionTokens,
  ...(typeof cached === 'number' ? { cachedPromptTokens: cached } : {}),
});

const ResultRecordWire = z.codec(ResultRecordTuple, z.custom<ShippedRecord>(), {
  decode: shippedRecord,
  encode: (record) => resultRecordTuple(record, record.rows),
});

/** One kept result line as it travels: `[customId, line]`. */
export const RawAnswerTuple = z.tuple([z.string().min(1).max(512), z.string().min(1)]);
export type RawAnswerTuple = z.infer<typeof RawAnswerTuple>;

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
    /** The batch's job type; chunks from before job types name none and are `specific_viewpoint`'s. */
    jobType: z.string().min(1).max(63).default(DEFAULT_JOB_TYPE),
    chunkSeq: z.number().int().nonnegative(),
    last: z.boolean(),
    /** Total number of chunks; set on the last chunk only. */
    chunkCount: z.number().int().positive().nullable(),
    records: z.array(ResultRecordWire),
    summary: ResultsSummary.nullable(),
    /**
     * The result lines of this chunk's records exactly as the provider returned them, `[customId, line]`; only for
     * a job type declaring `keepRawAnswers` (absent otherwise, and in chunks from before it was added).
     */
    rawAnswers: z.array(RawAnswerTuple).optional(),
  })
  .refine((e) => e.last === (e.chunkCount !== null) && e.last === (e.summary !== null), {
    message: 'chunkCount and summary are set on the last chunk and only there',
  })
  .refine((e) => !e.last || e.chunkSeq === (e.chunkCount ?? 0) - 1, {
    message: 'the last chunk has sequence chunkCount - 1',
  });
export type ResultsParsedEvent = z.infer<typeof ResultsParsedEvent>;
