import { z } from 'zod';
import { Provider, Severity, Timestamp } from './common.ts';

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
  /** JetStream trouble that lasts: publishes failing, a consumer lagging, dead letters piling up. */
  'queue',
  /** An outbound webhook (a job type's or the default one) refused or missed an event through its last attempt. */
  'webhook',
  /** The provider refused a batch the batcher made (e.g. `token_limit_exceeded`): its requests were re-queued. */
  'batch_refused',
  /** A job type's daily budget would be exceeded: the batcher makes no more of its batches today. */
  'budget_exceeded',
]);
export type OpsErrorKind = z.infer<typeof OpsErrorKind>;

/** The episode an `ops.error` belongs to: its key (what is in trouble), its number for that key, its phase. */
export const OpsEpisode = z.object({
  key: z.string().min(1).max(120),
  number: z.number().int().positive(),
  phase: z.enum(['began', 'over']),
});
export type OpsEpisode = z.infer<typeof OpsEpisode>;

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
  since: Timestamp.nullable(),
  /** What the operator should do. */
  nextStep: z.string().max(500).nullable(),
  occurredAt: Timestamp,
  /**
   * For trouble announced per episode (a provider outage, database or queue trouble): which episode, and whether
   * this announces its beginning or that it is over. Absent on one-off errors.
   */
  episode: OpsEpisode.optional(),
  /** The runbook section saying what to do about this kind of trouble. */
  runbookUrl: z.url().max(500).optional(),
});
export type OpsErrorEvent = z.infer<typeof OpsErrorEvent>;

/**
 * `ops.poller.summary` — what one poller did over a period, published at the end of each period when periodic
 * summaries are enabled.
 */
export const PollerSummaryEvent = z.object({
  /** The poller instance that did the work. */
  poller: z.string().min(1),
  periodStart: Timestamp,
  periodEnd: Timestamp,
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
  /**
   * The oldest of those (a few), with the provider's progress and their estimated completion (null: no
   * estimate); absent from summaries published before issue 17.
   */
  stillProcessing: z
    .array(
      z.object({
        batchLogId: z.number().int().positive(),
        batchId: z.string(),
        jobType: z.string(),
        done: z.number().nonnegative().nullable(),
        total: z.number().nonnegative().nullable(),
        estimatedCompletionAt: Timestamp.nullable(),
        estimateBasis: z.enum(['landing', 'progress', 'history']).nullable(),
      }),
    )
    .optional(),
});
export type PollerSummaryEvent = z.infer<typeof PollerSummaryEvent>;
