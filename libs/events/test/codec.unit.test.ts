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
    sentenceId: 7,
    outcome: 'succeeded' as const,
    viewpointIds: [3, 1],
    errorCode: null,
    errorMessage: null,
    promptTokens: 120,
    completionTokens: 9,
  };
  const failed = {
    ...succeeded,
    customId: 'bad id',
    sentenceId: null,
    outcome: 'failed' as const,
    viewpointIds: [],
    errorCode: 'invalid_custom_id',
    errorMessage: 'custom_id "bad id" is not of the form rs-<positive integer>',
    promptTokens: null,
  };
  const envelope = {
    batchLogId: 4,
    provider: 'openai' as const,
    providerBatchId: 'batch_4',
    chunkSeq: 0,
    last: false,
    chunkCount: null,
    summary: null,
  };
  const wire = (data: Uint8Array) => JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;

  it('carries each record as a tuple and decodes it back to the record', () => {
    const chunk = encodeResultsChunk(envelope, [succeeded, failed].map(encodeResultRecord));
    expect(chunk).toMatchObject({ batchLogId: 4, chunkSeq: 0, last: false, records: 2 });
    expect(wire(chunk.data).records).toEqual([
      ['rs-7', 7, [3, 1], null, null, 120, 9],
      ['bad id', null, [], 'invalid_custom_id', failed.errorMessage, null, 9],
    ]);
    expect(decodeEvent(Subjects.resultsParsed, chunk.data)).toEqual({
      ...envelope,
      records: [succeeded, failed],
    });
  });

  it('encodes a chunk built record by record as publish would encode the whole event', () => {
    const event: ResultsParsedEvent = { ...envelope, records: [succeeded, failed] };
    const whole = encodeEvent(Subjects.resultsParsed, event);
    const byRecord = encodeResultsChunk(envelope, event.records.map(encodeResultRecord));
    expect(wire(byRecord.data)).toEqual(wire(whole));
  });

  it('reads chunks published with records as objects (before the tuple form), checked the same way', () => {
    const legacy = (records: unknown[]) => new TextEncoder().encode(JSON.stringify({ ...envelope, records }));
    expect(decodeEvent(Subjects.resultsParsed, legacy([succeeded, failed]))).toEqual({
      ...envelope,
      records: [succeeded, failed],
    });
    expect(() => decodeEvent(Subjects.resultsParsed, legacy([{ ...failed, errorCode: null }]))).toThrow(
      expect.objectContaining({ field: 'records.0.3' }),
    );
  });

  it('still validates the envelope of a chunk built record by record', () => {
    expect(() => encodeResultsChunk({ ...envelope, last: true }, [])).toThrow(
      expect.objectContaining({ code: 'EVENT_INVALID' }),
    );
  });

  it('refuses a failed record without an error code, or with viewpoints, naming the record', () => {
    const codeless = encodeResultsChunk(envelope, [encodeResultRecord({ ...failed, errorCode: null })]);
    expect(() => decodeEvent(Subjects.resultsParsed, codeless.data)).toThrow(
      expect.objectContaining({ field: 'records.0.3' }),
    );
    const withViewpoints = encodeResultsChunk(envelope, [
      encodeResultRecord({ ...failed, viewpointIds: [1] }),
    ]);
    expect(() => decodeEvent(Subjects.resultsParsed, withViewpoints.data)).toThrow(
      expect.objectContaining({ field: 'records.0', message: expect.stringContaining('no viewpoints') }),
    );
    expect(() =>
      encodeEvent(Subjects.resultsParsed, { ...envelope, records: [{ ...failed, errorCode: null }] }),
    ).toThrow(expect.objectContaining({ field: 'records.0.3' }));
  });
});
