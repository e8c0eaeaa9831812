import type { ResultRecord } from '@batchline/domain';
import { sampleStatusChangedEvent } from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  EventValidationError,
  encodeEvent,
  encodeResultRecord,
  encodeResultsChunk,
  type ResultsParsedEvent,
  Subjects,
} from '../index.ts';

describe('event codec', () => {
  it('round-trips a valid event', () => {
    const event = sampleStatusChangedEvent(5);
    expect(decodeEvent('batch.status.changed', encodeEvent('batch.status.changed', event))).toEqual(event);
  });

  it('names the offending field, nested paths included', () => {
    const bad = { ...sampleStatusChangedEvent(5), requestCounts: { total: 1, completed: -1, failed: 0 } };
    expect(() => encodeEvent('batch.status.changed', bad)).toThrow(
      expect.objectContaining({ code: 'EVENT_INVALID', field: 'requestCounts.completed' }),
    );
  });

  it('reports a body that is not JSON', () => {
    const error = (() => {
      try {
        decodeEvent('batch.finalized', new TextEncoder().encode('{nope'));
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(EventValidationError);
    expect(error).toMatchObject({ field: '(body)', subject: 'batch.finalized' });
  });
});

describe('results chunks on the wire', () => {
  const succeeded = {
    customId: 'rs-7',
    requestId: 7,
    outcome: 'succeeded' as const,
    rows: [[3], [1]],
    errorCode: null,
    errorMessage: null,
    promptTokens: 120,
    completionTokens: 9,
  };
  const failed = {
    ...succeeded,
    customId: 'bad id',
    requestId: null,
    outcome: 'failed' as const,
    rows: [],
    errorCode: 'invalid_custom_id',
    errorMessage: 'custom_id "bad id" is not of the form rs-<id>',
    promptTokens: null,
  };
  /** specific_viewpoint has one value column: its rows travel flat. */
  const VIEWPOINT_WIDTH = 1;
  const encode = (record: ResultRecord) => encodeResultRecord(record, VIEWPOINT_WIDTH);
  /** As a consumer reads them: specific_viewpoint's rows flat. */
  const shipped = (record: ResultRecord) => ({ ...record, rows: record.rows.map((row) => row[0]!) });
  const envelope = {
    batchLogId: 4,
    provider: 'openai' as const,
    providerBatchId: 'batch_4',
    jobType: 'specific_viewpoint',
    chunkSeq: 0,
    last: false,
    chunkCount: null,
    summary: null,
  };
  const wire = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;

  it('carries each record as a tuple and decodes it back to the record', () => {
    const chunk = encodeResultsChunk(envelope, [succeeded, failed].map(encode));
    expect(chunk).toMatchObject({ batchLogId: 4, chunkSeq: 0, last: false, records: 2 });
    expect(wire(chunk.data).records).toEqual([
      ['rs-7', 7, [3, 1], null, null, 120, 9],
      ['bad id', null, [], 'invalid_custom_id', failed.errorMessage, null, 9],
    ]);
    expect(decodeEvent(Subjects.resultsParsed, chunk.data)).toEqual({
      ...envelope,
      records: [succeeded, failed].map(shipped),
    });
  });

  it('carries the cached input tokens as an eighth element, which records from before it lack', () => {
    const cached = { ...succeeded, cachedPromptTokens: 100 };
    const chunk = encodeResultsChunk(envelope, [cached, succeeded].map(encode));
    expect(wire(chunk.data).records).toEqual([
      ['rs-7', 7, [3, 1], null, null, 120, 9, 100],
      ['rs-7', 7, [3, 1], null, null, 120, 9],
    ]);
    expect(decodeEvent(Subjects.resultsParsed, chunk.data)).toEqual({
      ...envelope,
      records: [cached, succeeded].map(shipped),
    });
    const negative = encodeResultsChunk(envelope, [encode({ ...succeeded, cachedPromptTokens: -1 })]);
    expect(() => decodeEvent(Subjects.resultsParsed, negative.data)).toThrow(/records\.0\.7/);
  });

  it('carries the rows of a job type with several value columns as rows, vectors and all', () => {
    const rows = [
      ['positive', 0.875, null, true, '{"a":[1]}'],
      ['tab\there', 0, 'x', false, 'null'],
    ];
    const embedding = { ...succeeded, customId: 'emb-doc.1', requestId: 'doc.1', rows: [[[0.5, -0.25]]] };
    const labelled = { ...succeeded, customId: 'sent-8', requestId: 8, rows };
    const chunk = encodeResultsChunk({ ...envelope, jobType: 'review_sentiment' }, [
      encodeResultRecord(labelled, 5),
      encodeResultRecord(embedding, 1),
    ]);
    expect(wire(chunk.data).records).toEqual([
      ['sent-8', 8, rows, null, null, 120, 9],
      ['emb-doc.1', 'doc.1', [[0.5, -0.25]], null, null, 120, 9],
    ]);
    expect(decodeEvent(Subjects.resultsParsed, chunk.data)).toEqual({
      ...envelope,
      jobType: 'review_sentiment',
      records: [labelled, { ...embedding, rows: [[0.5, -0.25]] }],
    });
  });

  it('reads a chunk that names no job type (from before job types) as specific_viewpoint', () => {
    const { jobType: _none, ...before } = envelope;
    const chunk = encodeResultsChunk(envelope, [encode(succeeded)]);
    const body = { ...wire(chunk.data) };
    delete body.jobType;
    expect(body).toEqual({ ...before, records: [['rs-7', 7, [3, 1], null, null, 120, 9]] });
    expect(decodeEvent(Subjects.resultsParsed, new TextEncoder().encode(JSON.stringify(body)))).toEqual({
      ...envelope,
      records: [shipped(succeeded)],
    });
  });

  it('refuses rows that are neither values nor rows, and request ids of no job type', () => {
    const bad = (record: unknown[]) =>
      new TextEncoder().encode(JSON.stringify({ ...envelope, records: [record] }));
    expect(() =>
      decodeEvent(Subjects.resultsParsed, bad(['rs-1', 1, [{ a: 1 }], null, null, null, null])),
    ).toThrow(expect.objectContaining({ field: 'records.0.2.0' }));
    expect(() =>
      decodeEvent(Subjects.resultsParsed, bad(['rs-1', 1, [[[['deep']]]], null, null, null, null])),
    ).toThrow(expect.objectContaining({ field: 'records.0.2.0' }));
    expect(() =>
      decodeEvent(Subjects.resultsParsed, bad(['x-a b', 'a b', [], 'invalid_content', null, null, null])),
    ).toThrow(expect.objectContaining({ field: 'records.0.1' }));
  });

  it('encodes a chunk built record by record as publish would encode the whole event', () => {
    const event: ResultsParsedEvent = { ...envelope, records: [succeeded, failed].map(shipped) };
    const whole = encodeEvent(Subjects.resultsParsed, event);
    const byRecord = encodeResultsChunk(envelope, [succeeded, failed].map(encode));
    expect(wire(byRecord.data)).toEqual(wire(whole));
  });

  it('reads chunks published with records as objects (before the tuple form), checked the same way', () => {
    const { jobType: _none, ...before } = envelope;
    const asObject = (record: ResultRecord) => {
      const { requestId, rows, ...rest } = record;
      return { ...rest, sentenceId: requestId, viewpointIds: rows.map((row) => row[0]) };
    };
    const legacy = (records: unknown[]) => new TextEncoder().encode(JSON.stringify({ ...before, records }));
    expect(decodeEvent(Subjects.resultsParsed, legacy([succeeded, failed].map(asObject)))).toEqual({
      ...envelope,
      records: [succeeded, failed].map(shipped),
    });
    expect(() =>
      decodeEvent(Subjects.resultsParsed, legacy([{ ...asObject(failed), errorCode: null }])),
    ).toThrow(expect.objectContaining({ field: 'records.0.3' }));
  });

  it('still validates the envelope of a chunk built record by record', () => {
    expect(() => encodeResultsChunk({ ...envelope, last: true }, [])).toThrow(
      expect.objectContaining({ code: 'EVENT_INVALID' }),
    );
  });

  it('refuses a failed record without an error code, or with rows, naming the record', () => {
    const codeless = encodeResultsChunk(envelope, [encode({ ...failed, errorCode: null })]);
    expect(() => decodeEvent(Subjects.resultsParsed, codeless.data)).toThrow(
      expect.objectContaining({ field: 'records.0.3' }),
    );
    const withRows = encodeResultsChunk(envelope, [encode({ ...failed, rows: [[1]] })]);
    expect(() => decodeEvent(Subjects.resultsParsed, withRows.data)).toThrow(
      expect.objectContaining({ field: 'records.0', message: expect.stringContaining('no rows') }),
    );
    expect(() =>
      encodeEvent(Subjects.resultsParsed, { ...envelope, records: [{ ...failed, errorCode: null }] }),
    ).toThrow(expect.objectContaining({ field: 'records.0.3' }));
  });
});
