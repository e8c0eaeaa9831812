import { type Subject, Subjects } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { TopologyError } from './errors.ts';
import type { BusNaming } from './naming.ts';

/** Prefix of dead-letter subjects: a message that failed on `<subject>` is kept on `dlq.<subject>`. */
export const DLQ_SUBJECT_PREFIX = 'dlq';
export const dlqSubjectFor = (plainSubject: string): string => `${DLQ_SUBJECT_PREFIX}.${plainSubject}`;

/**
 * JetStream publishes `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>` when a message used up
 * its deliveries without being settled (docs/fault-injection.md, what batchline assumes of NATS), e.g. because the process died on it every time.
 * Advisories are core NATS messages, gone if nobody listens at that moment, so a stream keeps them.
 */
export const maxDeliveriesAdvisorySubject = (streamOnServer: string, consumer = '*'): string =>
  `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${streamOnServer}.${consumer}`;

/** How a stream's subjects are declared: plain subjects, or the advisories of the consumers' streams. */
type StreamSpec = { subjects: readonly string[] } | { captures: 'max_deliveries_advisories' };

/** The streams (plain names) and the subjects each one stores. */
export const Streams = {
  BATCH_REQUESTS: { subjects: [Subjects.requestsEnqueued] },
  BATCH_STATUS: { subjects: [Subjects.statusChanged] },
  BATCH_RESULTS: { subjects: [Subjects.resultsParsed] },
  BATCH_FINAL: { subjects: [Subjects.batchFinalized, Subjects.jobFinalized] },
  DLQ: { subjects: [`${DLQ_SUBJECT_PREFIX}.>`] },
  ALERTS: { subjects: [Subjects.alertRaised] },
  OPS: { subjects: [Subjects.opsError, Subjects.pollerSummary] },
  DLQ_ADVISORIES: { captures: 'max_deliveries_advisories' },
} as const satisfies Record<string, StreamSpec>;
export type StreamName = keyof typeof Streams;

/** The durable pull consumers: the service that runs each, which stream it reads and the one event subject it handles. */
export const Consumers = {
  // Takes requests in by the thousand, many per INSERT (services/batcher/src/intake.ts): more in flight than others.
  batcher: {
    service: 'batcher',
    stream: 'BATCH_REQUESTS',
    subject: Subjects.requestsEnqueued,
    settings: { maxAckPending: 20_000 },
  },
  fetcher: { service: 'fetcher', stream: 'BATCH_STATUS', subject: Subjects.statusChanged },
  // Batcher batches the provider failed for its enqueued-token limit: their requests are queued again.
  'batcher-refusals': { service: 'batcher', stream: 'BATCH_STATUS', subject: Subjects.statusChanged },
  persister: { service: 'persister', stream: 'BATCH_RESULTS', subject: Subjects.resultsParsed },
  notifier: { service: 'notifier', stream: 'BATCH_FINAL', subject: Subjects.batchFinalized },
  'notifier-alerts': { service: 'notifier', stream: 'ALERTS', subject: Subjects.alertRaised },
  'notifier-ops': { service: 'notifier', stream: 'OPS', subject: Subjects.opsError },
  'notifier-summaries': { service: 'notifier', stream: 'OPS', subject: Subjects.pollerSummary },
  // Outbound webhooks (docs/events.md): the public events' deliveries, recorded by the notifier.
  'notifier-webhooks': { service: 'notifier', stream: 'BATCH_FINAL', subject: Subjects.batchFinalized },
  'notifier-job-webhooks': { service: 'notifier', stream: 'BATCH_FINAL', subject: Subjects.jobFinalized },
  // Automatic retry rounds and job finalization (the monitor's retrier).
  'monitor-retrier': { service: 'monitor', stream: 'BATCH_FINAL', subject: Subjects.batchFinalized },
  // One Slack message per finalized job.
  'notifier-jobs': { service: 'notifier', stream: 'BATCH_FINAL', subject: Subjects.jobFinalized },
} as const satisfies Record<
  string,
  { service: string; stream: StreamName; subject: Subject; settings?: Partial<ConsumerSettings> }
>;
export type ConsumerName = keyof typeof Consumers;
export type ConsumerSubject<C extends ConsumerName> = (typeof Consumers)[C]['subject'];

/** The durable consumer that turns max-deliveries advisories into dead letters (every service runs it). */
export const DLQ_RECORDER = 'dlq-recorder';
export const DLQ_RECORDER_STREAM: StreamName = 'DLQ_ADVISORIES';

/** The plain subjects a stream stores (none for the advisory stream, whose subjects are not ours). */
function streamSubjects(plain: StreamName): readonly string[] {
  const spec: StreamSpec = Streams[plain];
  return 'subjects' in spec ? spec.subjects : [];
}

/** The stream (plain name) that stores a plain subject, if any. */
export function streamOfSubject(plainSubject: string): StreamName | undefined {
  return (Object.keys(Streams) as StreamName[]).find((stream) =>
    streamSubjects(stream).some((pattern) =>
      pattern.endsWith('.>') ? plainSubject.startsWith(pattern.slice(0, -1)) : pattern === plainSubject,
    ),
  );
}

/** Retention of every stream unless configured: long enough for `batchline replay` after a bad week. */
export const DEFAULT_STREAM_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;
/** The server's default; publishers retry (outbox relay) well within it. */
export const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

/** Per-consumer delivery settings. No `backoff`: retry delays come from nak-with-delay (docs/fault-injection.md, what batchline assumes of NATS). */
export interface ConsumerSettings {
  ackWaitMs: number;
  maxDeliver: number;
  /** Bounded, so a burst cannot put an unbounded number of messages in flight across all instances. */
  maxAckPending: number;
}
export const DEFAULT_CONSUMER_SETTINGS: Readonly<ConsumerSettings> = {
  ackWaitMs: 30_000,
  maxDeliver: 10,
  maxAckPending: 256,
};

export interface TopologyOptions {
  /** Stream `max_age`; defaults to 14 days. */
  maxAgeMs?: number;
  /** Stream replicas; 1 on a single local server, 3 in a production cluster. */
  replicas?: number;
  /** Overrides per consumer (tests shorten `ackWaitMs` / `maxDeliver`). */
  consumers?: Partial<Record<ConsumerName, Partial<ConsumerSettings>>>;
}

export type TopologyAction = 'created' | 'updated' | 'unchanged';
export interface TopologyReport {
  streams: { name: string; action: TopologyAction }[];
  consumers: { stream: string; name: string; action: TopologyAction }[];
}

type StreamFields = Pick<
  StreamConfig,
  'subjects' | 'retention' | 'storage' | 'discard' | 'max_age' | 'duplicate_window' | 'num_replicas'
>;
type ConsumerFields = Pick<
  ConsumerConfig,
  | 'durable_name'
  | 'ack_policy'
  | 'deliver_policy'
  | 'replay_policy'
  | 'filter_subject'
  | 'ack_wait'
  | 'max_deliver'
  | 'max_ack_pending'
>;

function desiredSubjects(plain: StreamName, naming: BusNaming): string[] {
  const spec: StreamSpec = Streams[plain];
  if ('subjects' in spec) return spec.subjects.map((s) => naming.subject(s));
  const consumed = new Set(Object.values(Consumers).map((c) => naming.stream(c.stream)));
  return [...consumed].map((stream) => maxDeliveriesAdvisorySubject(stream));
}

function desiredStream(plain: StreamName, naming: BusNaming, options: TopologyOptions): StreamFields {
  return {
    subjects: desiredSubjects(plain, naming),
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(options.maxAgeMs ?? DEFAULT_STREAM_MAX_AGE_MS),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    num_replicas: options.replicas ?? 1,
  };
}

function desiredConsumer(name: ConsumerName, naming: BusNaming, options: TopologyOptions): ConsumerFields {
  const declared = Consumers[name];
  return durableConsumer(name, naming.subject(Consumers[name].subject), {
    ...DEFAULT_CONSUMER_SETTINGS,
    ...('settings' in declared ? declared.settings : {}),
    ...options.consumers?.[name],
  });
}

function durableConsumer(name: string, filterSubject: string, settings: ConsumerSettings): ConsumerFields {
  return {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    filter_subject: filterSubject,
    ack_wait: nanos(settings.ackWaitMs),
    max_deliver: settings.maxDeliver,
    max_ack_pending: settings.maxAckPending,
  };
}

/** Names of the fields whose current value differs from the desired one (arrays compared as sets). */
function differingFields<T extends object>(current: Partial<T>, desired: T): string[] {
  return Object.entries(desired)
    .filter(([key, want]) => {
      const have = (current as Record<string, unknown>)[key];
      if (Array.isArray(want)) {
        return !Array.isArray(have) || [...have].sort().join('\n') !== [...want].sort().join('\n');
      }
      return have !== want;
    })
    .map(([key]) => key);
}

const isApiError = (err: unknown, code: number): boolean =>
  err instanceof JetStreamApiError && err.code === code;

const topologyError = (what: string, err: unknown): TopologyError =>
  new TopologyError(`cannot apply ${what}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });

async function ensureStream(
  jsm: JetStreamManager,
  name: string,
  desired: StreamFields,
  log: Logger,
): Promise<TopologyAction> {
  try {
    const info = await jsm.streams.info(name);
    const changed = differingFields(info.config, desired);
    if (changed.length === 0) return 'unchanged';
    await jsm.streams.update(name, desired);
    log.info({ stream: name, changed }, 'stream updated');
    return 'updated';
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw topologyError(`stream ${name}`, err);
  }
  try {
    await jsm.streams.add({ name, ...desired });
  } catch (err) {
    throw topologyError(`stream ${name}`, err);
  }
  log.info({ stream: name }, 'stream created');
  return 'created';
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  desired: ConsumerFields,
  log: Logger,
): Promise<TopologyAction> {
  const name = desired.durable_name!;
  try {
    const info = await jsm.consumers.info(stream, name);
    const changed = differingFields(info.config, desired);
    if (changed.length === 0) return 'unchanged';
    await jsm.consumers.update(stream, name, desired);
    log.info({ stream, consumer: name, changed }, 'consumer updated');
    return 'updated';
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound))
      throw topologyError(`consumer ${stream}/${name}`, err);
  }
  try {
    await jsm.consumers.add(stream, desired);
  } catch (err) {
    throw topologyError(`consumer ${stream}/${name}`, err);
  }
  log.info({ stream, consumer: name }, 'consumer created');
  return 'created';
}

/**
 * Creates what is missing and updates what differs from the declared topology; running it again changes nothing.
 * Settings the server cannot change in place (retention, storage, ack policy) surface as a `TopologyError`.
 */
export async function ensureTopology(
  jsm: JetStreamManager,
  naming: BusNaming,
  options: TopologyOptions,
  log: Logger,
): Promise<TopologyReport> {
  const report: TopologyReport = { streams: [], consumers: [] };
  for (const plain of Object.keys(Streams) as StreamName[]) {
    const name = naming.stream(plain);
    report.streams.push({
      name,
      action: await ensureStream(jsm, name, desiredStream(plain, naming, options), log),
    });
  }
  for (const consumer of Object.keys(Consumers) as ConsumerName[]) {
    const stream = naming.stream(Consumers[consumer].stream);
    const action = await ensureConsumer(jsm, stream, desiredConsumer(consumer, naming, options), log);
    report.consumers.push({ stream, name: consumer, action });
  }
  const advisories = naming.stream(DLQ_RECORDER_STREAM);
  const recorder = durableConsumer(
    DLQ_RECORDER,
    maxDeliveriesAdvisorySubject('*', '>'),
    DEFAULT_CONSUMER_SETTINGS,
  );
  report.consumers.push({
    stream: advisories,
    name: DLQ_RECORDER,
    action: await ensureConsumer(jsm, advisories, recorder, log),
  });
  return report;
}
