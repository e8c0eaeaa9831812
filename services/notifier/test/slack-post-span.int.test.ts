import type { Pool } from '@batchline/db';
import { traceHeaders } from '@batchline/telemetry';
import {
  type MigratedTestDatabase,
  migratedTestDatabase,
  type SlackReceiver,
  silentLogger,
  startSlackReceiver,
  waitFor,
} from '@batchline/testing';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashPoints } from '../src/crash-point.ts';
import { Dispatcher } from '../src/dispatcher.ts';
import { webhookSink } from '../src/slack-sink.ts';
import { enqueueNotification } from '../src/store/enqueue.ts';
import { newBatch } from './batch-logs.ts';

// Tracing on, in this test file's process only: spans stay in memory.
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** Runs `fn` in a span standing for an event's consumer span; returns the span and the headers recorded in it. */
function inConsumerSpan(name: string): { spanId: string; traceId: string; headers: Record<string, string> } {
  return trace.getTracer('test').startActiveSpan(name, (span) => {
    const headers = traceHeaders();
    span.end();
    return { ...span.spanContext(), headers };
  });
}

describe('the Slack post span', () => {
  let database: MigratedTestDatabase;
  let pool: Pool;
  let slack: SlackReceiver;

  beforeAll(async () => {
    database = await migratedTestDatabase('notifier_post_span');
    pool = database.pool;
    slack = await startSlackReceiver();
  });
  afterAll(async () => {
    await database?.close();
    await slack?.close();
    await provider.shutdown();
  });

  it("continues the recorded trace of a message, and links a digest to every entry's trace", async () => {
    // Three final messages close together (bundled into one digest), then an alert alone.
    const finals = [];
    for (let i = 0; i < 3; i++) {
      const consumer = inConsumerSpan(`process batch.finalized ${i}`);
      const batchLogId = await newBatch(pool);
      finals.push({ consumer, batchLogId });
      await enqueueNotification(pool, {
        eventKey: `final:${batchLogId}`,
        kind: 'batch_final',
        route: 'default',
        severity: 'low',
        occurredAt: new Date(T0 + i * 1000),
        batchLogId,
        announcesFinal: true,
        text: `final ${i}`,
        blocks: [],
        traceHeaders: consumer.headers,
      });
    }
    const alertConsumer = inConsumerSpan('process alert.raised');
    const alertBatch = await newBatch(pool);
    await enqueueNotification(pool, {
      eventKey: 'alert:1',
      kind: 'alert',
      route: 'default',
      severity: 'high',
      occurredAt: new Date(T0 + 600_000),
      batchLogId: alertBatch,
      announcesFinal: false,
      text: 'alert',
      blocks: [],
      traceHeaders: alertConsumer.headers,
    });
    exporter.reset();

    const dispatcher = new Dispatcher({
      pool,
      delivery: {
        sink: webhookSink({ url: slack.url, label: 'default webhook', timeoutMs: 2_000 }),
        routes: ['default'],
        refusalRoute: null,
      },
      instanceId: 'replica-a',
      log: silentLogger,
      retryScheduleMs: [1_000],
      digest: {
        threshold: 2,
        windowMs: 60_000,
        maxEntries: 40,
        compose: () => ({ text: 'digest', blocks: [] }),
      },
      crash: crashPoints(undefined, silentLogger),
      reportRefusal: async () => undefined,
    }).start();
    const posts = await waitFor('both posts to be traced', () => {
      const found = exporter.getFinishedSpans().filter((s) => s.name === 'slack post');
      return found.length === 2 ? found : undefined;
    });
    await dispatcher.stop();
    const [digestPost, alertPost] = posts as [ReadableSpan, ReadableSpan];

    // The digest announces three batches, each in its own trace: a new trace, linked to all three.
    expect(digestPost.kind).toBe(SpanKind.CLIENT);
    expect(digestPost.parentSpanContext).toBeUndefined();
    expect(digestPost.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual(
      finals.map(({ consumer }) => [consumer.traceId, consumer.spanId]),
    );
    expect(digestPost.attributes).toMatchObject({
      'batchline.notification.kind': 'digest',
      'batchline.notification.route': 'default',
      'batchline.notification.outcome': 'delivered',
      'batchline.batch_log_ids': finals.map((f) => f.batchLogId),
    });

    // A message sent alone continues its event's trace, as a child of the span that recorded it.
    expect(alertPost.kind).toBe(SpanKind.CLIENT);
    expect(alertPost.spanContext().traceId).toBe(alertConsumer.traceId);
    expect(alertPost.parentSpanContext?.spanId).toBe(alertConsumer.spanId);
    expect(alertPost.links).toEqual([]);
    expect(alertPost.attributes).toMatchObject({
      'batchline.notification.kind': 'alert',
      'batchline.notification.outcome': 'delivered',
      'batchline.batch_log_id': alertBatch,
    });
    // Nothing about the webhook URL (a secret) is recorded.
    expect(JSON.stringify(posts.map((s) => s.attributes))).not.toContain('secretwebhooktoken');
    expect(slack.accepted.map((m) => m.body.text)).toEqual(['digest', 'alert']);
  });
});
