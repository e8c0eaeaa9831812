import { sampleBatchFinalizedEvent, sampleJobFinalizedEvent } from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import { BATCH_FINALIZED_VERSION, decodeEvent, EventValidationError, encodeEvent } from '../index.ts';

const wire = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('the public events (docs/events.md)', () => {
  it('publishes batch.finalized with its version', () => {
    const bytes = encodeEvent('batch.finalized', sampleBatchFinalizedEvent(3));
    expect(JSON.parse(new TextDecoder().decode(bytes))).toMatchObject({ version: BATCH_FINALIZED_VERSION });
  });

  it('reads a batch.finalized recorded before it had a version as version 1, every field as it was', () => {
    const { version: _none, ...recorded } = sampleBatchFinalizedEvent(3);
    expect(decodeEvent('batch.finalized', wire(recorded))).toEqual({ ...recorded, version: 1 });
  });

  it('refuses a version this code does not know, naming the field', () => {
    const newer = { ...sampleBatchFinalizedEvent(3), version: 2 };
    expect(() => decodeEvent('batch.finalized', wire(newer))).toThrow(EventValidationError);
    expect(() => decodeEvent('batch.finalized', wire(newer))).toThrow(/version/);
    const job = { ...sampleJobFinalizedEvent(4), version: 2 };
    expect(() => decodeEvent('job.finalized', wire(job))).toThrow(/version/);
  });

  it('round-trips job.finalized', () => {
    const event = sampleJobFinalizedEvent(4, 'review_sentiment');
    expect(decodeEvent('job.finalized', encodeEvent('job.finalized', event))).toEqual(event);
  });
});
