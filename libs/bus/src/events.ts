import type { ResultRecord } from '@batchline/domain';
import { z } from 'zod';

/**
 * Every event's subject (without the namespace prefix) and its one schema. Types are inferred from the schemas;
 * publishers and consumers both validate against them.
 */
export const Subjects = {
  statusChanged: 'batch.status.changed',
  resultsParsed: 'batch.results.parsed',
  batchFinalized: 'batch.finalized',
  alertRaised: 'alert.raised',
  opsError: 'ops.error',
  pollerSummary: 'ops.poller.summary',
} as const;
export type Subject = (typeof Subjects)[keyof typeof Subjects];

const Provider = z.enum(['openai', 'anthropic']);
const RequestCounts = z.object({
  total: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
});
const ProviderError = z.object({
  code: z.string().nullable(),
  message: z.string().nullable(),
  line: z.number().int().nullable(),
});
const EndReason = z.enum([
  'completed',
  'failed',
  'expired',
  'cancelled',
  'not_found',
  'max_age',
  'results_unavailable',
]);

/** `batch.status.changed` — the poller saw the provider's status of a batch change (or ended it itself). */
export const StatusChangedEvent = z.object({
  batchLogId: z.number().int().positive(),
  provider: Provider,
  providerBatchId: z.string().min(1),
  previousProviderStatus: z.string().nullable(),
  providerStatus: z.string().min(1),
  /** Set when the batch will not progress further at the provider (a terminal status, 404, or max age). */
  terminal: z.boolean(),
  /** Why it ended, when terminal. */
  reason: EndReason.nullable(),
  inputFileId: z.string().nullable(),
  outputFileId: z.string().nullable(),
  errorFileId: z.string().nullable(),
  requestCounts: RequestCounts.nullable(),
  /** The provider's batch-level errors (e.g. input validation of a `failed` batch). */
  providerErrors: z.array(ProviderError),
  observedAt: z.iso.datetime({ offset: true }),
});
export type StatusChangedEvent = z.infer<typeof StatusChangedEvent>;

/** Unattributable lines of the result files, reported with the batch's last chunk. */
export const InvalidLines = z.object({
  count: z.number().int().nonnegative(),
  /** The first few, with where they were. */
  samples: z.array(z.object({ file: z.string(), line: z.number().int().positive(), error: z.string() })),
});
export type InvalidLines = z.infer<typeof InvalidLines>;

/** What the fetcher knows about the whole batch once every line has been read; travels in the last chunk. */
export const ResultsSummary = z.object({
  finalStatus: z.union([z.literal(2), z.literal(9)]),
  reason: EndReason,
  providerStatus: z.string(),
  providerErrors: z.array(ProviderError),
  linesRead: z.object({ output: z.number().int().nonnegative(), error: z.number().int().nonnegative() }),
  invalidLines: InvalidLines,
  /** Lines whose custom_id had already been seen (the first one wins). */
  duplicateLines: z.number().int().nonnegative(),
  /** Lines whose custom_id is well-formed but not a request of this batch (not landed). */
  unexpectedLines: z.number().int().nonnegative(),
  /** Requests of the input file with no line in either file (recorded as `missing_result`). */
  missingResults: z.number().int().nonnegative(),
  /** Set when the input file could not be read, so `missing_result` could not be computed. */
  inputUnavailable: z.string().nullable(),
  /** Set when the results could not be downloaded at all. */
  downloadError: z.string().nullable(),
});
export type ResultsSummary = z.infer<typeof ResultsSummary>;

const positiveId = z.number().int().positive();
const tokenCount = z.number().int().nonnegative().nullable();

/**
 * One request outcome as it travels in `batch.results.parsed`: the tuple `[customId, sentenceId, viewpointIds,
 * errorCode, errorMessage, promptTokens, completionTokens]`, a third of the bytes of the object form (a batch
 * sends 50,000), decoded to a `ResultRecord`: succeeded when `errorCode` is null, and then only with viewpoints.
 */
export const ResultRecordTuple = z
  .tuple([
    z.string({ error: 'customId must be a string' }).min(1).max(512),
    positiveId.nullable(),
    z.array(positiveId),
    z.string().min(1).nullable(),
    z.string().nullable(),
    tokenCount,
    tokenCount,
  ])
  .refine(([, , viewpointIds, errorCode]) => errorCode === null || viewpointIds.length === 0, {
    message: 'a failed record (errorCode set) has no viewpoints',
  });
export type ResultRecordTuple = z.infer<typeof ResultRecordTuple>;

/**
 * The tuple of a record (the wire form, unchecked: `ResultRecordTuple` checks it where it is read). A failed
 * record without an error code gets an empty one, which that check refuses rather than reading it as succeeded.
 */
export const resultRecordTuple = (record: ResultRecord): ResultRecordTuple => [
  record.customId,
  record.sentenceId,
  record.viewpointIds,
  record.outcome === 'succeeded' ? null : (record.errorCode ?? ''),
  record.errorMessage,
  record.promptTokens,
  record.completionTokens,
];

const ResultRecordWire = z.codec(ResultRecordTuple, z.custom<ResultRecord>(), {
  decode: ([
    customId,
    sentenceId,
    viewpointIds,
    errorCode,
    errorMessage,
    promptTokens,
    completionTokens,
  ]) => ({
    customId,
    sentenceId,
    outcome: errorCode === null ? ('succeeded' as const) : ('failed' as const),
    viewpointIds,
    errorCode,
    errorMessage,
    promptTokens,
    completionTokens,
  }),
  encode: resultRecordTuple,
});

/**
 * `batch.results.parsed` — one chunk of validated request outcomes. Chunks of a batch are numbered from 0; the
 * last one says how many there are and carries the summary. Chunk boundaries are deterministic, so a re-fetch
 * yields the same chunks.
 */
export const ResultsParsedEvent = z
  .object({
    batchLogId: z.number().int().positive(),
    provider: Provider,
    providerBatchId: z.string().min(1),
    chunkSeq: z.number().int().nonnegative(),
    last: z.boolean(),
    /** Total number of chunks; set on the last chunk only. */
    chunkCount: z.number().int().positive().nullable(),
    records: z.array(ResultRecordWire),
    summary: ResultsSummary.nullable(),
  })
  .refine((e) => e.last === (e.chunkCount !== null) && e.last === (e.summary !== null), {
    message: 'chunkCount and summary are set on the last chunk and only there',
  })
  .refine((e) => !e.last || e.chunkSeq === (e.chunkCount ?? 0) - 1, {
    message: 'the last chunk has sequence chunkCount - 1',
  });
export type ResultsParsedEvent = z.infer<typeof ResultsParsedEvent>;

/** `batch.finalized` — the persister set a final status (2 or 9) after every chunk had landed. */
export const BatchFinalizedEvent = z.object({
  batchLogId: z.number().int().positive(),
  provider: Provider,
  providerBatchId: z.string().min(1),
  status: z.union([z.literal(2), z.literal(9)]),
  reason: EndReason,
  providerStatus: z.string(),
  totalSentences: z.number().int().nonnegative(),
  processedSentences: z.number().int().nonnegative(),
  failedSentences: z.number().int().nonnegative(),
  associations: z.number().int().nonnegative(),
  topErrors: z.array(z.object({ code: z.string(), count: z.number().int().positive() })),
  invalidLines: z.number().int().nonnegative(),
  submittedAt: z.iso.datetime({ offset: true }),
  providerTerminalAt: z.iso.datetime({ offset: true }).nullable(),
  landedAt: z.iso.datetime({ offset: true }),
});
export type BatchFinalizedEvent = z.infer<typeof BatchFinalizedEvent>;

/** The conditions the monitor's alert rules watch (services/monitor/README.md defines each). */
export const AlertCondition = z.enum([
  'high_error_rate',
  'long_processing_time',
  'low_throughput',
  'stuck_batches',
  'batch_failures',
]);
export type AlertCondition = z.infer<typeof AlertCondition>;

/** Where an alert should be announced: Slack, or the notifier's log only. */
export const AlertChannel = z.enum(['slack', 'log']);
export type AlertChannel = z.infer<typeof AlertChannel>;

/**
 * `alert.raised` — the monitor found an alert condition true; at most one per condition per suppression window,
 * so the notifier can announce every one it receives.
 */
export const AlertRaisedEvent = z.object({
  alertId: z.number().int().positive(),
  condition: AlertCondition,
  severity: z.enum(['critical', 'high', 'medium', 'low']),
  /** One line for people, e.g. for the Slack message. */
  message: z.string().min(1),
  /**
   * The measured value and the rule's threshold: percent (high_error_rate), ms (long_processing_time), jobs per
   * hour (low_throughput), batches (batch_failures); stuck_batches: how many batches, and the threshold in ms.
   */
  value: z.number(),
  threshold: z.number(),
  /** Batches the condition is about (the first few), when it is about batches. */
  batchLogIds: z.array(z.number().int().positive()),
  channels: z.array(AlertChannel),
  /** Length of the window the condition was measured over. */
  windowMs: z.number().int().positive(),
  raisedAt: z.iso.datetime({ offset: true }),
  /** No further alert for this condition before then. */
  suppressedUntil: z.iso.datetime({ offset: true }),
});
export type AlertRaisedEvent = z.infer<typeof AlertRaisedEvent>;

/** How urgent an announcement is; `critical` goes to the critical Slack webhook when one is configured. */
export const Severity = z.enum(['critical', 'high', 'medium', 'low']);
export type Severity = z.infer<typeof Severity>;

/** What kind of trouble an `ops.error` reports. */
export const OpsErrorKind = z.enum([
  /** The provider refused our credentials (401/403): nothing is polled or fetched until an operator fixes the key. */
  'provider_auth',
  /** The provider has been answering 5xx or not at all for a while. */
  'provider_unavailable',
  /** The provider has been rate limiting us for a while. */
  'provider_rate_limited',
  /** A result file could not be downloaded or read. */
  'results_unreadable',
  /** Postgres refused or lost work for a while. */
  'database',
  /** A message was copied to the DLQ after its handler gave up on it. */
  'dead_lettered',
  /** The provider says our quota is used up (429 `insufficient_quota`): checks are paused until a probe passes. */
  'provider_quota',
  /** The provider answers 404 for every batch (e.g. a wrong base URL): checks are paused, no batch is ended. */
  'provider_not_found',
  /** A provider call failed in a way we do not classify (a 400, an unexpected answer): recorded, retried later. */
  'provider_error',
  /** Pending batches whose provider status and counts have not moved for longer than the configured time. */
  'batch_stuck',
  /** Batches final at the provider whose results have not landed in time: their terminal event was re-published. */
  'results_not_landed',
]);
export type OpsErrorKind = z.infer<typeof OpsErrorKind>;

/**
 * `ops.error` — an operational error worth telling operators about, raised by the service that met it. One
 * event per occurrence the operator should hear of: the publisher decides (e.g. once per outage, not per
 * failed call) and names the occurrence in `occurrenceId`, which the notifier announces once.
 */
export const OpsErrorEvent = z.object({
  /** Stable for one occurrence, e.g. `provider_auth:openai:2026-11-23T10` (also the publish msg id). */
  occurrenceId: z.string().min(1).max(200),
  kind: OpsErrorKind,
  severity: Severity,
  /** The service that met the error. */
  service: z.string().min(1),
  /** One line for people, without secrets. */
  message: z.string().min(1).max(2000),
  provider: Provider.nullable(),
  batchLogId: z.number().int().positive().nullable(),
  providerBatchId: z.string().nullable(),
  /** The error text (redacted), e.g. an HTTP status and code. */
  detail: z.string().max(2000).nullable(),
  /** When the condition began, for conditions that last (outage, rate limiting). */
  since: z.iso.datetime({ offset: true }).nullable(),
  /** What the operator should do. */
  nextStep: z.string().max(500).nullable(),
  occurredAt: z.iso.datetime({ offset: true }),
});
export type OpsErrorEvent = z.infer<typeof OpsErrorEvent>;

/**
 * `ops.poller.summary` — what one poller did over a period, published at the end of each period when periodic
 * summaries are enabled.
 */
export const PollerSummaryEvent = z.object({
  /** The poller instance that did the work. */
  poller: z.string().min(1),
  periodStart: z.iso.datetime({ offset: true }),
  periodEnd: z.iso.datetime({ offset: true }),
  /** Status checks made, and how many of them failed (provider errors, timeouts). */
  batchesChecked: z.number().int().nonnegative(),
  checksFailed: z.number().int().nonnegative(),
  /** Provider status changes seen. */
  transitions: z.number().int().nonnegative(),
  /** Batches that reached a terminal state at the provider in the period, by outcome. */
  batchesCompleted: z.number().int().nonnegative(),
  batchesFailed: z.number().int().nonnegative(),
  /** Batches still waiting for the provider at the end of the period. */
  pendingBatches: z.number().int().nonnegative(),
});
export type PollerSummaryEvent = z.infer<typeof PollerSummaryEvent>;

/** Subject → schema, so a consumer is typed by the subject it reads. */
export const EventSchemas = {
  [Subjects.statusChanged]: StatusChangedEvent,
  [Subjects.resultsParsed]: ResultsParsedEvent,
  [Subjects.batchFinalized]: BatchFinalizedEvent,
  [Subjects.alertRaised]: AlertRaisedEvent,
  [Subjects.opsError]: OpsErrorEvent,
  [Subjects.pollerSummary]: PollerSummaryEvent,
} as const;
export type EventOf<S extends Subject> = z.infer<(typeof EventSchemas)[S]>;
