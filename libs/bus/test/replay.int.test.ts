import { sampleStatusChangedEvent } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newReplayRunId,
  notificationStreams,
  type RecordedMessage,
  type ReplaySelection,
  replayableStreams,
  replayMessage,
  selectForReplay,
} from '../index.ts';
import { ReplayHeaders } from '../src/replay.ts';
import { openTestBus, type TestBus, waitFor } from './support.ts';

async function collect(t: TestBus, selection: ReplaySelection): Promise<RecordedMessage[]> {
  const out: RecordedMessage[] = [];
  for await (const message of selectForReplay(t.bus, selection)) out.push(message);
  return out;
}

const batchLogIdOf = (message: RecordedMessage) =>
  (JSON.parse(new TextDecoder().decode(message.data)) as { batchLogId: number }).batchLogId;

describe('replay', () => {
  let t: TestBus;
  const seqs: number[] = [];
  beforeAll(async () => {
    t = await openTestBus('replay');
    await t.bus.ensureTopology();
    // Batches 1, 2, 1, 3 in that order.
    for (const [i, id] of [1, 2, 1, 3].entries()) {
      const { seq } = await t.bus.publish('batch.status.changed', sampleStatusChangedEvent(id), {
        msgId: `status:${i}`,
      });
      seqs.push(seq);
    }
  });
  afterAll(async () => {
    await t.close();
  });

  it('selects recorded events by stream, provider batch id and sequence range', async () => {
    const all = await collect(t, { stream: 'BATCH_STATUS' });
    expect(all.map((m) => m.seq)).toEqual(seqs);
    expect(all[0]).toMatchObject({ stream: 'BATCH_STATUS', subject: 'batch.status.changed' });
    expect(all[0]!.headers['Nats-Msg-Id']).toBe('status:0');

    const batchOne = await collect(t, { stream: 'BATCH_STATUS', providerBatchId: 'batch_1' });
    expect(batchOne.map((m) => m.seq)).toEqual([seqs[0], seqs[2]]);

    const middle = await collect(t, { stream: 'BATCH_STATUS', fromSeq: seqs[1], toSeq: seqs[2] });
    expect(middle.map(batchLogIdOf)).toEqual([2, 1]);

    const later = await collect(t, { stream: 'BATCH_STATUS', since: new Date(Date.now() + 60_000) });
    expect(later).toEqual([]);
    expect(await collect(t, { stream: 'BATCH_RESULTS' })).toEqual([]);
  });

  it('re-delivers to the durable consumer under new msg ids, and leaves its own copies out of later replays', async () => {
    const processed: { id: number; msgId: string; replayOf: string | undefined }[] = [];
    const consumption = t.bus.consume('fetcher', async (event, ctx) => {
      processed.push({
        id: event.batchLogId,
        msgId: ctx.headers['Nats-Msg-Id']!,
        replayOf: ctx.headers[ReplayHeaders.of],
      });
    });
    await waitFor('the recorded events', () => processed.length === 4);

    const runId = newReplayRunId();
    const selected = await collect(t, { stream: 'BATCH_STATUS', providerBatchId: 'batch_1' });
    for (const message of selected) {
      const published = await replayMessage(t.bus, runId, message);
      expect(published.duplicate).toBe(false);
    }
    await waitFor('the replayed events', () => processed.length === 6);
    expect(processed.slice(4)).toEqual([
      { id: 1, msgId: `replay:${runId}:BATCH_STATUS:${seqs[0]}`, replayOf: `BATCH_STATUS:${seqs[0]}` },
      { id: 1, msgId: `replay:${runId}:BATCH_STATUS:${seqs[2]}`, replayOf: `BATCH_STATUS:${seqs[2]}` },
    ]);
    // The copies are in the stream, but a later replay selects the originals only.
    expect((await collect(t, { stream: 'BATCH_STATUS' })).map((m) => m.seq)).toEqual(seqs);
    await consumption.stop();
  });

  it('offers the streams services read, and names those the notifier reads', () => {
    expect(replayableStreams()).toEqual(
      expect.arrayContaining(['BATCH_STATUS', 'BATCH_RESULTS', 'BATCH_FINAL']),
    );
    expect(replayableStreams()).not.toContain('DLQ');
    expect(replayableStreams()).not.toContain('DLQ_ADVISORIES');
    expect(notificationStreams()).toContain('BATCH_FINAL');
    expect(notificationStreams()).not.toContain('BATCH_RESULTS');
  });
});
