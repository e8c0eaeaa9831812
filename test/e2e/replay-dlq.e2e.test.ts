import { type DeadLetter, deadLetterOf } from '@batchline/bus';
import type { OpsErrorEvent, StatusChangedEvent } from '@batchline/events';
import { BATCHLINE_BIN } from '@batchline/supervisor';
import { testNatsUrl, waitFor } from '@batchline/testing';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execBatchline, type PipelineWorld, startPipelineWorld } from './support/tracked-batch.ts';

/** Everything a batch landed, in a comparable form. */
async function landed(world: PipelineWorld, batchLogId: number) {
  const query = async (sql: string) => (await world.pool.query(sql, [batchLogId])).rows;
  return {
    results: await query(
      `SELECT custom_id, outcome, error_code, error_message, review_sentence_id, prompt_tokens, completion_tokens
       FROM batch_request_results WHERE batch_log_id = $1 ORDER BY custom_id`,
    ),
    associations: await query(
      `SELECT review_sentence_id, wl_spec_vp_id FROM review_sentences_wl_spec_vp
       WHERE batch_log_id = $1 ORDER BY review_sentence_id, wl_spec_vp_id`,
    ),
    ledger: await query(
      `SELECT chunk_seq, records, succeeded, failed, associations FROM batch_result_chunks
       WHERE batch_log_id = $1 ORDER BY chunk_seq`,
    ),
    batch: (
      await query(
        `SELECT status, total_sentences, processed_sentences, failed_sentences, expected_chunks, log_details,
                results_landed_at, final_notified_at
         FROM batch_jobs_vp_logs WHERE id = $1`,
      )
    )[0],
  };
}

async function batchline(world: PipelineWorld, ...args: string[]): Promise<string> {
  const { stdout } = await execBatchline(process.execPath, [BATCHLINE_BIN, ...args], {
    env: { ...world.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
  });
  return stdout;
}

/** True once every durable consumer of the pipeline has nothing pending and nothing unacknowledged. */
async function pipelineIdle(world: PipelineWorld, jsm: JetStreamManager): Promise<boolean> {
  for (const [stream, consumer] of [
    ['BATCH_STATUS', 'fetcher'],
    ['BATCH_RESULTS', 'persister'],
    ['BATCH_FINAL', 'notifier'],
  ] as const) {
    const info = await jsm.consumers.info(world.bus.naming.stream(stream), consumer);
    if (info.num_pending > 0 || info.num_ack_pending > 0) return false;
  }
  return true;
}

const finalMessagesAbout = (world: PipelineWorld, providerBatchId: string) =>
  world.slack.accepted.filter((m) => m.body.text?.startsWith(`Batch ${providerBatchId} `));

describe('replay and the dead-letter queue, against the four service processes', () => {
  let world: PipelineWorld;
  let a: { batchLogId: number; providerBatchId: string };
  let b: { batchLogId: number; providerBatchId: string };
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl() });
    jsm = await jetstreamManager(nc);
    world = await startPipelineWorld('replay', { RESULTS_CHUNK_RECORDS: '40' });
    a = await world.trackBatch(200, 1);
    b = await world.trackBatch(120, 2);
    await world.waitUntilAnnounced(a.batchLogId);
    await world.waitUntilAnnounced(b.batchLogId);
  });

  afterAll(async () => {
    await world?.close();
    await nc?.close();
  });

  it("re-lands one batch's deleted rows exactly by replaying its batch.results.parsed events", async () => {
    const before = await landed(world, a.batchLogId);
    const otherBefore = await landed(world, b.batchLogId);
    expect(before.results).toHaveLength(200);
    expect(before.ledger.length).toBeGreaterThan(1);
    expect(before.associations.length).toBeGreaterThan(0);

    // Forget what batch A landed: outcomes, associations and the chunk ledger, in one transaction.
    const client = await world.pool.connect();
    try {
      await client.query('BEGIN');
      for (const table of ['review_sentences_wl_spec_vp', 'batch_request_results', 'batch_result_chunks']) {
        await client.query(`DELETE FROM ${table} WHERE batch_log_id = $1`, [a.batchLogId]);
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const emptied = await landed(world, a.batchLogId);
    expect(emptied).toMatchObject({ results: [], associations: [], ledger: [] });
    // The counts followed the deleted outcomes (migration 0005); the final status stays.
    expect(emptied.batch).toMatchObject({
      status: before.batch.status,
      processed_sentences: 0,
      failed_sentences: 0,
    });

    const dryRun = await batchline(
      world,
      'replay',
      '--subject',
      'batch.results.parsed',
      '--batch',
      a.providerBatchId,
      '--dry-run',
    );
    expect(dryRun).toContain(`${before.ledger.length} events would be replayed`);
    expect((await landed(world, a.batchLogId)).results).toEqual([]);

    const replayed = await batchline(
      world,
      'replay',
      '--subject',
      'batch.results.parsed',
      '--batch',
      a.providerBatchId,
    );
    expect(replayed).toMatch(new RegExp(`replayed ${before.ledger.length} events`));
    await waitFor('every chunk to land again', async () => {
      const now = await landed(world, a.batchLogId);
      return now.ledger.length === before.ledger.length;
    });
    const after = await landed(world, a.batchLogId);
    expect(after).toEqual(before);
    expect(await landed(world, b.batchLogId)).toEqual(otherBefore);
    expect(finalMessagesAbout(world, a.providerBatchId)).toHaveLength(1);
  });

  it('replays whole streams without doubling a row or a Slack message', async () => {
    const before = [await landed(world, a.batchLogId), await landed(world, b.batchLogId)];
    const slackBefore = world.slack.accepted.length;

    const noNotify = await batchline(
      world,
      'replay',
      '--batch',
      b.providerBatchId,
      '--no-notify',
      '--dry-run',
    );
    expect(noNotify).toContain('BATCH_RESULTS');
    expect(noNotify).not.toContain('BATCH_FINAL');

    const output = await batchline(world, 'replay', '--stream', 'BATCH_STATUS,BATCH_RESULTS,BATCH_FINAL');
    const count = Number(/replayed (\d+) events/.exec(output)?.[1]);
    expect(count).toBeGreaterThan(before[0]!.ledger.length + before[1]!.ledger.length);
    await waitFor('the pipeline to work through the replay', () => pipelineIdle(world, jsm), {
      timeoutMs: 60_000,
    });
    // Give the notifier's dispatcher the time a (wrong) second message would take to go out.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    expect([await landed(world, a.batchLogId), await landed(world, b.batchLogId)]).toEqual(before);
    expect(world.slack.accepted.length).toBe(slackBefore);
    expect(finalMessagesAbout(world, a.providerBatchId)).toHaveLength(1);
    expect(finalMessagesAbout(world, b.providerBatchId)).toHaveLength(1);
  });

  it('dead-letters a poison event without blocking later ones, and processes it once when redriven after the fix', async () => {
    // A terminal status event for a batch log that does not exist (yet): the fetcher rejects it for good.
    const providerBatchId = await world.createBatch(80, 3);
    const completed = await waitFor('the emulator to complete the batch', async () => {
      const state = await world.provider.getBatch(providerBatchId);
      return state.status === 'completed' ? state : undefined;
    });
    const orphanId = 900_000;
    const poison: StatusChangedEvent = {
      batchLogId: orphanId,
      provider: 'openai',
      providerBatchId,
      previousProviderStatus: 'finalizing',
      providerStatus: 'completed',
      terminal: true,
      reason: 'completed',
      inputFileId: completed.inputFileId,
      outputFileId: completed.outputFileId,
      errorFileId: completed.errorFileId,
      requestCounts: completed.requestCounts,
      providerErrors: [],
      observedAt: new Date().toISOString(),
    };
    const published = await world.bus.publish('batch.status.changed', poison, {
      msgId: `status:${orphanId}:completed`,
    });

    // The events after it flow: a new batch lands and is announced.
    const later = await world.trackBatch(60, 4);
    await world.waitUntilAnnounced(later.batchLogId);

    const listed = await batchline(world, 'dlq', 'list');
    expect(listed).toContain('batch.status.changed');
    expect(listed).toContain(providerBatchId);
    const letters: DeadLetter[] = [];
    for await (const message of world.bus.readStream('DLQ'))
      letters.push(deadLetterOf(message, world.bus.naming));
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter).toMatchObject({ streamSeq: published.seq, consumer: 'fetcher', via: 'runner' });
    expect(letter!.error).toContain(`batch log ${orphanId} does not exist`);
    expect(JSON.parse(await batchline(world, 'dlq', 'list', '--json'))).toEqual([
      {
        dlqSeq: letter!.dlqSeq,
        recordedAt: letter!.recordedAt.toISOString(),
        subject: 'batch.status.changed',
        stream: letter!.stream,
        streamSeq: published.seq,
        consumer: 'fetcher',
        deliveryCount: letter!.deliveryCount,
        via: 'runner',
        providerBatchId,
        error: letter!.error,
      },
    ]);
    const shown = JSON.parse(await batchline(world, 'dlq', 'show', String(letter!.dlqSeq)));
    expect(shown).toMatchObject({ dlqSeq: letter!.dlqSeq, subject: 'batch.status.changed', payload: poison });

    // The notifier is told: an ops.error of kind dead_lettered names the dead letter.
    const notices: OpsErrorEvent[] = [];
    for await (const message of world.bus.readStream('OPS', { subject: 'ops.error' })) {
      notices.push(JSON.parse(new TextDecoder().decode(message.data)));
    }
    expect(notices).toEqual([
      expect.objectContaining({ kind: 'dead_lettered', batchLogId: orphanId, providerBatchId }),
    ]);

    // The fix: the batch log the event is about now exists (adopted from elsewhere, already terminal).
    await world.pool.query(
      `INSERT INTO batch_jobs_vp_logs (id, provider, batch_id, total_sentences, input_file_id, provider_terminal_at)
       VALUES ($1, 'openai', $2, 80, $3, now())`,
      [orphanId, providerBatchId, completed.inputFileId],
    );
    const redriven = await batchline(world, 'dlq', 'redrive', '--all');
    expect(redriven).toContain(`redriven: dlq ${letter!.dlqSeq} → batch.status.changed`);
    await world.waitUntilAnnounced(orphanId);
    expect((await landed(world, orphanId)).results).toHaveLength(80);
    expect(finalMessagesAbout(world, providerBatchId)).toHaveLength(1);
    expect(await batchline(world, 'dlq', 'list')).toContain('the DLQ is empty');
  });
});
