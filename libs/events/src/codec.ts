import type { ResultRecord } from '@batchline/domain';
import type { z } from 'zod';
import { EventValidationError } from './errors.ts';
import {
  type ResultRecordTuple,
  ResultsParsedEvent,
  recordTupleIssue,
  resultRecordTuple,
  type ShippedRecord,
  shippedRecord,
  shippedRows,
} from './results-parsed.ts';
import { type EventOf, EventSchemas } from './schemas.ts';
import { type Subject, Subjects } from './subjects.ts';

/** True when `subject` (without namespace) is one of the events with a schema. */
export function isEventSubject(subject: string): subject is Subject {
  return Object.hasOwn(EventSchemas, subject);
}

function validationError(subject: Subject, error: z.ZodError): EventValidationError {
  const [first, ...rest] = error.issues;
  const field = first && first.path.length > 0 ? first.path.map(String).join('.') : '(root)';
  const more = rest.length > 0 ? ` (and ${rest.length} more issue${rest.length > 1 ? 's' : ''})` : '';
  return new EventValidationError(subject, field, `${first?.message ?? 'invalid'}${more}`);
}

/**
 * Chunks published before records travelled as tuples carry them as objects (`{customId, sentenceId, outcome,
 * viewpointIds, ...}`, all of specific_viewpoint, whose one value column travels flat); read as tuples, they are
 * checked like any other, so stored events replay and an upgrade mid-batch loses nothing.
 */
interface ObjectRecord {
  customId: unknown;
  sentenceId: unknown;
  outcome: unknown;
  viewpointIds: unknown;
  errorCode: unknown;
  errorMessage: unknown;
  promptTokens: unknown;
  completionTokens: unknown;
}
const isObjectRecord = (record: unknown): record is ObjectRecord =>
  record !== null && typeof record === 'object' && !Array.isArray(record);

// Unchecked fields go through as they are: the tuple schema checks them next.
const objectRecordTuple = (record: ObjectRecord): unknown[] => [
  record.customId,
  record.sentenceId,
  record.viewpointIds,
  record.outcome === 'succeeded' ? null : (record.errorCode ?? ''),
  record.errorMessage,
  record.promptTokens,
  record.completionTokens,
];

function recordsAsTuples(value: unknown): unknown {
  if (
    value === null ||
    typeof value !== 'object' ||
    !Array.isArray((value as { records?: unknown }).records)
  ) {
    return value;
  }
  const records = (value as { records: unknown[] }).records;
  if (!records.some(isObjectRecord)) return value;
  return {
    ...value,
    records: records.map((record) => (isObjectRecord(record) ? objectRecordTuple(record) : record)),
  };
}

/**
 * Checks a wire-form `value` against the subject's schema and returns the event; throws `EventValidationError`.
 */
export function validateEvent<S extends Subject>(subject: S, value: unknown): EventOf<S> {
  if (subject === Subjects.resultsParsed) return validateResultsChunk(recordsAsTuples(value)) as EventOf<S>;
  const result = EventSchemas[subject].safeDecode(value as never);
  if (result.success) return result.data as EventOf<S>;
  throw validationError(subject, result.error);
}

/**
 * A results chunk: its envelope checked by the schema, its records (50,000 a batch) by `recordTupleIssue`, the
 * check the schema's record tuple runs too, without building zod's result objects for every one.
 */
function validateResultsChunk(wire: unknown): ResultsParsedEvent {
  const records = (wire as { records?: unknown } | null)?.records;
  if (!Array.isArray(records)) {
    const whole = ResultsParsedEvent.safeDecode(wire as never);
    if (whole.success) return whole.data;
    throw validationError(Subjects.resultsParsed, whole.error);
  }
  const envelope = ResultsParsedEvent.safeDecode({ ...(wire as object), records: [] } as never);
  if (!envelope.success) throw validationError(Subjects.resultsParsed, envelope.error);
  const decoded = new Array<ShippedRecord>(records.length);
  for (let i = 0; i < records.length; i += 1) {
    const issue = recordTupleIssue(records[i]);
    if (issue)
      throw new EventValidationError(
        Subjects.resultsParsed,
        ['records', i, ...issue.path].join('.'),
        issue.message,
      );
    decoded[i] = shippedRecord(records[i] as ResultRecordTuple);
  }
  return { ...envelope.data, records: decoded };
}

/** Validates an event and JSON-encodes its wire form (records as tuples). */
export function encodeEvent<S extends Subject>(subject: S, event: EventOf<S>): Uint8Array {
  const result = EventSchemas[subject].safeEncode(event as never);
  if (!result.success) throw validationError(subject, result.error);
  return new TextEncoder().encode(JSON.stringify(result.data));
}

/** Parses and validates a wire body; throws `EventValidationError` for non-JSON or schema violations. */
export function decodeEvent<S extends Subject>(subject: S, data: Uint8Array): EventOf<S> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new EventValidationError(subject, '(body)', 'not UTF-8 JSON');
  }
  return validateEvent(subject, value);
}

/** A `batch.results.parsed` body built by `encodeResultsChunk`, with what a publisher needs to know of it. */
export interface EncodedResultsChunk {
  readonly batchLogId: number;
  readonly chunkSeq: number;
  readonly last: boolean;
  readonly records: number;
  readonly data: Uint8Array;
}

/**
 * One record's wire form as JSON text, so that a chunk can be cut by its encoded size and its body built without
 * serializing anything twice; `rowWidth` is the number of the job type's value columns (one: rows travel flat).
 * Not checked here: the records come typed from the result parser, and the consumer checks every one against
 * `ResultRecordTuple`, and the persister every row against the job type.
 */
export const encodeResultRecord = (record: ResultRecord, rowWidth: number): string =>
  JSON.stringify(resultRecordTuple(record, shippedRows(record.rows, rowWidth)));

/** One kept result line's wire form (`RawAnswerTuple`) as JSON text, to be spliced in by `encodeResultsChunk`. */
export const encodeRawAnswer = (customId: string, line: string): string => JSON.stringify([customId, line]);

/**
 * The body of one results chunk: everything but the records validated against the event's schema, and the
 * records (from `encodeResultRecord`) and raw answers (from `encodeRawAnswer`; none: the field is left out)
 * spliced in as they are.
 */
export function encodeResultsChunk(
  envelope: Omit<ResultsParsedEvent, 'records' | 'rawAnswers'>,
  records: readonly string[],
  rawAnswers: readonly string[] | null = null,
): EncodedResultsChunk {
  const checked = ResultsParsedEvent.safeEncode({ ...envelope, records: [] });
  if (!checked.success) throw validationError(Subjects.resultsParsed, checked.error);
  const { records: _none, ...head } = checked.data;
  const json = JSON.stringify(head);
  // The envelope always has fields, so the records follow a comma.
  const answers = rawAnswers === null ? '' : `,"rawAnswers":[${rawAnswers.join(',')}]`;
  const body = `${json.slice(0, -1)},"records":[${records.join(',')}]${answers}}`;
  return {
    batchLogId: envelope.batchLogId,
    chunkSeq: envelope.chunkSeq,
    last: envelope.last,
    records: records.length,
    data: new TextEncoder().encode(body),
  };
}
