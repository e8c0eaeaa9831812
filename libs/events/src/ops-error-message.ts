import type { ProviderName } from '@batchline/domain';
import { redactSecretsIn } from '@batchline/logging';
import { validateEvent } from './codec.ts';
import type { OpsEpisode, OpsErrorEvent, OpsErrorKind } from './ops-events.ts';
import { Subjects } from './subjects.ts';

export interface OpsErrorDetails {
  /** The service that met the error. */
  service: string;
  kind: OpsErrorKind;
  severity: OpsErrorEvent['severity'];
  message: string;
  provider: ProviderName | null;
  batchLogId?: number | null;
  providerBatchId?: string | null;
  detail?: string | null;
  since?: Date | null;
  nextStep?: string | null;
  /**
   * What makes this occurrence one: the same key means the same occurrence, announced once. Defaults to the
   * kind, the provider and the hour, so that a condition that lasts is announced once an hour, not per check.
   */
  occurrenceKey?: string;
  /** The episode this announces (its key and number make the occurrence, whatever `occurrenceKey` says). */
  episode?: OpsEpisode;
  runbookUrl?: string;
}

const hourOf = (date: Date) => date.toISOString().slice(0, 13);

/** An `ops.error` event ready to publish (directly or through an outbox), with its msg id. */
export interface OpsErrorMessage {
  subject: typeof Subjects.opsError;
  msgId: string;
  payload: OpsErrorEvent;
}

/**
 * An `ops.error` event, validated here (a bad outbox row would stall the relay). Its msg id is the occurrence, so
 * a second announcement of the same occurrence is dropped by the outbox, by JetStream and by the notifier.
 */
export function opsErrorEvent(details: OpsErrorDetails, now = new Date()): OpsErrorMessage {
  const { episode } = details;
  const occurrenceId = episode
    ? `${episode.key}:${episode.number}:${episode.phase}`
    : [details.kind, details.provider ?? 'any', details.occurrenceKey ?? hourOf(now)].join(':');
  const payload = validateEvent(Subjects.opsError, {
    occurrenceId: occurrenceId.slice(0, 200),
    kind: details.kind,
    severity: details.severity,
    service: details.service,
    message: redactSecretsIn(details.message).slice(0, 2000),
    provider: details.provider,
    batchLogId: details.batchLogId ?? null,
    providerBatchId: details.providerBatchId ?? null,
    detail: details.detail == null ? null : redactSecretsIn(details.detail).slice(0, 2000),
    since: details.since?.toISOString() ?? null,
    nextStep: details.nextStep ?? null,
    occurredAt: now.toISOString(),
    ...(episode ? { episode } : {}),
    ...(details.runbookUrl ? { runbookUrl: details.runbookUrl } : {}),
  });
  return { subject: Subjects.opsError, msgId: `ops:${payload.occurrenceId}`, payload };
}

/** The section of docs/runbook.md for each kind of trouble announced per episode. */
export const RUNBOOK_SECTIONS = {
  provider_unavailable: 'provider-unavailable',
  database: 'database-trouble',
  queue: 'queue-trouble',
} as const satisfies Partial<Record<OpsErrorKind, string>>;

export type EpisodeKind = keyof typeof RUNBOOK_SECTIONS;

/** The link to a kind's runbook section under `baseUrl` (the runbook document's address, OPS_RUNBOOK_URL). */
export function runbookUrlOf(baseUrl: string, kind: EpisodeKind): string {
  return `${baseUrl.replace(/#.*$/, '')}#${RUNBOOK_SECTIONS[kind]}`;
}
