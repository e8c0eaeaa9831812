import { waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKindCode,
  startOtlpReceiver,
} from '../../libs/telemetry/test/otlp-receiver.ts';
import { type PipelineWorld, startPipelineWorld } from './support/tracked-batch.ts';

const SENTENCES = 200;
const CHUNK_RECORDS = 50;

describe('one trace per batch, across the four service processes (OTLP/HTTP, protobuf)', () => {
  let receiver: OtlpReceiver;
  let world: PipelineWorld;
  let batch: { batchLogId: number; providerBatchId: string };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    world = await startPipelineWorld('tracing', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      RESULTS_CHUNK_RECORDS: String(CHUNK_RECORDS),
    });
    batch = await world.trackBatch(SENTENCES, 11);
  });

  afterAll(async () => {
    await world?.close();
    await receiver?.close();
  });

  it('links the completing poll, the fetch, every chunk persist and the Slack post in one trace', async () => {
    await world.waitUntilAnnounced(batch.batchLogId);
    const isCompletingPoll = (s: ReceivedSpan) =>
      s.name === 'poll batch' &&
      s.attributes['batchline.batch_log_id'] === batch.batchLogId &&
      s.attributes['batchline.poll.outcome'] === 'terminal';
    const traceOf = (poll: ReceivedSpan) => receiver.spans.filter((s) => s.traceId === poll.traceId);
    const poll = await waitFor('the completing poll and the Slack post to be exported', () => {
      const found = receiver.spans.find(isCompletingPoll);
      return found && traceOf(found).some((s) => s.name === 'slack post') ? found : undefined;
    });
    const trace = traceOf(poll);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);
    const named = (name: string) => trace.filter((s) => s.name === name);
    const childrenOf = (parent: ReceivedSpan) => trace.filter((s) => s.parentSpanId === parent.spanId);

    // Every span of the trace hangs off the poll: one tree, nothing dangling.
    expect(poll).toMatchObject({ service: 'batchline-poller', parentSpanId: '' });
    expect(poll.attributes['batchline.provider_batch_id']).toBe(batch.providerBatchId);
    for (const span of trace) if (span !== poll) expect(parentOf(span), span.name).toBeDefined();

    // The poll asked the provider (undici) and wrote to Postgres (pg) as its children.
    const pollChildren = childrenOf(poll);
    expect(pollChildren.some((s) => s.kind === SpanKindCode.client && s.name === 'GET')).toBe(true);
    expect(pollChildren.some((s) => s.attributes['db.system.name'] === 'postgresql')).toBe(true);

    // The status event left through the outbox: its producer span continues the poll's trace, whichever service's
    // outbox relay published the row (every relay drains the one outbox table).
    const [statusPublish, ...extraStatus] = named('publish batch.status.changed');
    expect(extraStatus).toEqual([]);
    expect(statusPublish).toMatchObject({
      kind: SpanKindCode.producer,
      parentSpanId: poll.spanId,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.message.id': `status:${batch.batchLogId}:completed`,
      },
    });

    // The fetcher processed it: a consumer span, child of the producer and linked to it (messaging conventions).
    const [fetch] = named('process batch.status.changed');
    expect(fetch).toMatchObject({
      service: 'batchline-fetcher',
      kind: SpanKindCode.consumer,
      parentSpanId: statusPublish!.spanId,
      links: [{ traceId: poll.traceId, spanId: statusPublish!.spanId }],
      attributes: {
        'messaging.consumer.group.name': 'fetcher',
        'batchline.batch_log_id': batch.batchLogId,
        'batchline.provider_batch_id': batch.providerBatchId,
        'batchline.settlement': 'ack',
      },
    });
    // ...downloading the files with fetch (undici spans) ...
    expect(childrenOf(fetch!).filter((s) => s.kind === SpanKindCode.client).length).toBeGreaterThanOrEqual(2);

    // ...and fanning out into one producer span per chunk.
    const chunkPublishes = named('publish batch.results.parsed');
    const { rows } = await world.pool.query<{ expected_chunks: number }>(
      'SELECT expected_chunks FROM batch_jobs_vp_logs WHERE id = $1',
      [batch.batchLogId],
    );
    const chunkCount = rows[0]!.expected_chunks;
    expect(chunkCount).toBeGreaterThanOrEqual(SENTENCES / CHUNK_RECORDS);
    expect(chunkPublishes).toHaveLength(chunkCount);
    expect(chunkPublishes.map((s) => s.attributes['messaging.message.id']).sort()).toEqual(
      Array.from({ length: chunkCount }, (_, seq) => `results:${batch.batchLogId}:${seq}`).sort(),
    );
    for (const publish of chunkPublishes) {
      expect(publish.parentSpanId).toBe(fetch!.spanId);
      // Each chunk was persisted exactly once, in a consumer span under its own producer, writing to Postgres.
      const persists = childrenOf(publish);
      expect(persists.map((s) => [s.name, s.service, s.kind])).toEqual([
        ['process batch.results.parsed', 'batchline-persister', SpanKindCode.consumer],
      ]);
      expect(persists[0]!.links).toEqual([{ traceId: poll.traceId, spanId: publish.spanId }]);
      expect(persists[0]!.attributes['batchline.settlement']).toBe('ack');
      expect(childrenOf(persists[0]!).some((s) => s.attributes['db.system.name'] === 'postgresql')).toBe(
        true,
      );
    }

    // The chunk that completed the batch enqueued batch.finalized; the relay's publish continues its trace.
    const [finalPublish] = named('publish batch.finalized');
    expect(finalPublish).toMatchObject({ kind: SpanKindCode.producer });
    expect(parentOf(finalPublish!)).toMatchObject({ name: 'process batch.results.parsed' });
    // batch.finalized has several consumers (here, of the four pipeline services: the notifier's Slack intake and
    // its webhooks): each processed it in its own consumer span under the one publish.
    const finalProcesses = named('process batch.finalized');
    const consumerGroups = finalProcesses.map((s) => s.attributes['messaging.consumer.group.name']).sort();
    expect(consumerGroups).toEqual(['notifier', 'notifier-webhooks']);
    for (const process of finalProcesses) expect(process.parentSpanId).toBe(finalPublish!.spanId);
    const finalProcess = finalProcesses.find(
      (s) => s.attributes['messaging.consumer.group.name'] === 'notifier',
    );
    expect(finalProcess).toMatchObject({
      service: 'batchline-notifier',
      kind: SpanKindCode.consumer,
      parentSpanId: finalPublish!.spanId,
      attributes: { 'batchline.batch_log_id': batch.batchLogId },
    });

    // The intake recorded the message; the dispatcher posted it later, outside any consumer, in a client span
    // continuing the intake's trace (the context stored on the notification row).
    const [slackPost, ...extraPosts] = named('slack post');
    expect(extraPosts).toEqual([]);
    expect(slackPost).toMatchObject({
      service: 'batchline-notifier',
      kind: SpanKindCode.client,
      parentSpanId: finalProcess!.spanId,
      attributes: {
        'batchline.batch_log_id': batch.batchLogId,
        'batchline.notification.kind': 'batch_final',
        'batchline.notification.route': 'default',
        'batchline.notification.outcome': 'delivered',
      },
    });
    // The POST itself is not traced: no span anywhere records the webhook URL, a secret.
    expect(childrenOf(slackPost!)).toEqual([]);
    const webhookPath = new URL(world.slack.url).pathname;
    expect(JSON.stringify(receiver.spans)).not.toContain(webhookPath);

    // Log lines written inside the trace carry its ids (pino log correlation).
    const finalizedLog = world.pipeline.logs
      .filter((l) => l.service === 'persister')
      .map((l) => JSON.parse(l.line) as Record<string, unknown>)
      .find((l) => l.msg === 'batch finalized' && l.batchLogId === batch.batchLogId);
    expect(finalizedLog).toMatchObject({ trace_id: poll.traceId });
    expect(byId.get(String(finalizedLog!.span_id))?.name).toBe('process batch.results.parsed');
  });

  it('exports over protobuf, the default protocol', () => {
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/x-protobuf']));
  });
});
