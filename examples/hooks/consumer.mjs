// A consumer of batchline's public events (docs/events.md), as a user's own system would run it: its own
// durable consumer on the BATCH_FINAL stream, filtered by subject, acking each event after handling it.
//
//   NATS_URL=nats://127.0.0.1:4222 HOOK_CONSUMER=my-hook node examples/hooks/consumer.mjs
//
// Each event is printed as one JSON line: {"subject","msgId","redelivered","event"}. Delivery is at least once:
// a real handler dedupes by the event's key (batchLogId or batchJobId; the NATS message id names the publish).
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
// BATCHLINE_NAMESPACE of the installation, if it sets one: subjects `<ns>.batch.finalized`, stream `<NS>_BATCH_FINAL`.
const namespace = process.env.BATCHLINE_NAMESPACE ?? '';
const durable = process.env.HOOK_CONSUMER ?? 'my-finalized-hook';
// `batch.finalized`, `job.finalized`, or `*.finalized` for both.
const subject = process.env.HOOK_SUBJECT ?? '*.finalized';
// `new`: from the consumer's creation on; `all`: everything the stream still keeps (14 days by default) first.
const deliver = process.env.HOOK_DELIVER === 'all' ? DeliverPolicy.All : DeliverPolicy.New;

const prefix = namespace ? `${namespace}.` : '';
const stream = namespace ? `${namespace.toUpperCase().replace(/-/g, '_')}_BATCH_FINAL` : 'BATCH_FINAL';
// The versions of each event this consumer understands (a missing version is 1: events recorded before it).
const UNDERSTOOD = { 'batch.finalized': 1, 'job.finalized': 1 };

/** What the user's system does with one event; here: print it. Must be idempotent (at-least-once delivery). */
function handle(plainSubject, msgId, redelivered, event) {
  process.stdout.write(`${JSON.stringify({ subject: plainSubject, msgId, redelivered, event })}\n`);
}

const nc = await connect({ servers, name: durable });
const jsm = await jetstreamManager(nc);
// Idempotent: creates the durable consumer the first time, finds it afterwards (it remembers what was acked).
await jsm.consumers.add(stream, {
  durable_name: durable,
  filter_subject: `${prefix}${subject}`,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: deliver,
  ack_wait: 30_000_000_000,
  max_deliver: 10,
});
const consumer = await jetstream(nc).consumers.get(stream, durable);
const messages = await consumer.consume();
const stop = () => void messages.close().then(() => nc.drain());
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stderr.write(`consuming ${prefix}${subject} from ${stream} as ${durable}\n`);

for await (const msg of messages) {
  const plainSubject = msg.subject.slice(prefix.length);
  const event = msg.json();
  const version = event.version ?? 1;
  if (version > (UNDERSTOOD[plainSubject] ?? 0)) {
    // A newer version may have redefined fields: leave it for an upgraded consumer rather than misread it.
    process.stderr.write(`${plainSubject} version ${version} is newer than this consumer understands\n`);
    msg.nak(60_000);
    continue;
  }
  handle(plainSubject, msg.headers?.get('Nats-Msg-Id') ?? null, msg.redelivered, event);
  msg.ack();
}
