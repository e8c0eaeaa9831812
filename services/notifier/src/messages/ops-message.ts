import type { OpsErrorEvent, OpsErrorKind } from '@batchline/events';
import {
  clip,
  context,
  escapeMrkdwn,
  fieldsSection,
  header,
  humanDuration,
  type SlackMessage,
  section,
} from './slack-message.ts';

const TITLE: Record<OpsErrorKind, string> = {
  provider_auth: 'Provider authentication failed',
  provider_unavailable: 'Provider unavailable',
  provider_rate_limited: 'Provider rate limiting',
  results_unreadable: 'Result file unreadable',
  database: 'Database errors',
  dead_lettered: 'Message dead-lettered',
  provider_quota: 'Provider quota used up',
  provider_not_found: 'Provider knows none of our batches',
  provider_error: 'Provider call failed',
  batch_stuck: 'Batches stuck at the provider',
  results_not_landed: 'Results not landed',
  queue: 'Queue trouble',
  webhook: 'Webhook delivery failed',
  batch_refused: 'Batch refused by the provider',
  budget_exceeded: 'Daily budget reached',
};

const DEFAULT_NEXT_STEP: Record<OpsErrorKind, string> = {
  provider_auth:
    'Check OPENAI_API_KEY (revoked, expired or wrong organisation) and restart the services; no batch is marked failed meanwhile.',
  provider_unavailable:
    'Check the provider’s status page; polling continues with backoff and nothing is lost meanwhile.',
  provider_rate_limited:
    'Polling slows down by itself; if it lasts, lower the number of pollers or POLL_CHUNK, or raise the account’s limits.',
  results_unreadable:
    'Check the batch’s output and error files at the provider; the batch ends with what could be read.',
  database:
    'Check that Postgres is up and reachable and has free connections and disk; work resumes by itself.',
  dead_lettered:
    'Inspect the message in the DLQ stream (headers say why it failed), fix the cause, then replay it.',
  provider_quota:
    'Add credit or raise the quota in the provider’s billing settings; checks resume by themselves once a probe passes.',
  provider_not_found:
    'Check OPENAI_BASE_URL and that the API key belongs to the organisation that created the batches; no batch is ended meanwhile.',
  provider_error:
    'Read the detail; the call is retried later. If it keeps failing, check the batch at the provider.',
  batch_stuck:
    'Check the batches at the provider and its status page; cancel and resubmit them if they stay stuck.',
  results_not_landed:
    'Check the fetcher and persister (running? errors? DLQ?); the terminal event was published again to retry.',
  queue:
    'Check that NATS is up, that the consumers run and keep up, and what the DLQ holds; nothing is lost meanwhile.',
  webhook:
    'Check the receiving endpoint (up? answering 2xx? verifying with the right secret?); `batchline webhooks --state failed` lists the deliveries given up.',
  batch_refused:
    'Its requests are queued again and go out in smaller batches; lower BATCHER_MAX_ENQUEUED_TOKENS if it repeats.',
  budget_exceeded:
    'Queued requests wait for tomorrow’s budget; raise BATCHER_DAILY_BUDGET_USD to send them today.',
};

const SEVERITY_ICON: Record<OpsErrorEvent['severity'], string> = {
  critical: '🚨',
  high: '⚠️',
  medium: '🔶',
  low: 'ℹ️',
};

/**
 * An operational error from a service: what broke, where, since when, and what to do. `jobType`: the job type of
 * the batch it concerns (null when it concerns none, or its batch log is not found).
 */
export function opsErrorMessage(error: OpsErrorEvent, jobType: string | null): SlackMessage {
  const batch =
    error.batchLogId === null
      ? null
      : `batch log ${error.batchLogId}${error.providerBatchId ? ` (${error.providerBatchId})` : ''}`;
  const over = error.episode?.phase === 'over';
  const lasting =
    error.since === null
      ? ''
      : ` ${over ? 'over after' : 'for'} ${humanDuration(Math.max(0, Date.parse(error.occurredAt) - Date.parse(error.since)))}`;
  const level = over ? 'RESOLVED' : error.severity.toUpperCase();
  const text = `[${level}] ${TITLE[error.kind]}${lasting}: ${escapeMrkdwn(error.message)}${batch ? ` (${batch})` : ''}.`;
  const fields: [string, string][] = [
    ['Service', error.service],
    ['Severity', error.severity],
  ];
  if (error.provider) fields.push(['Provider', error.provider]);
  if (batch) fields.push(['Batch', escapeMrkdwn(batch)]);
  if (jobType) fields.push(['Job type', `\`${escapeMrkdwn(jobType)}\``]);
  if (error.since) fields.push(['Since', error.since]);
  if (error.episode)
    fields.push(['Episode', `\`${escapeMrkdwn(error.episode.key)}\` #${error.episode.number}`]);
  fields.push([over ? 'Over at' : 'Seen at', error.occurredAt]);
  const nextStep = over
    ? 'Nothing to do: the trouble is over.'
    : `Next step: ${escapeMrkdwn(error.nextStep ?? DEFAULT_NEXT_STEP[error.kind])}`;
  const runbook = error.runbookUrl ? ` <${error.runbookUrl}|Runbook>` : '';
  return {
    text: error.runbookUrl ? `${text} Runbook: ${error.runbookUrl}` : text,
    blocks: [
      header(`${over ? '✅' : SEVERITY_ICON[error.severity]} ${TITLE[error.kind]}${over ? ' is over' : ''}`),
      section(escapeMrkdwn(error.message)),
      fieldsSection(fields),
      ...(error.detail ? [section(`*Detail:* \`${escapeMrkdwn(clip(error.detail, 1000))}\``)] : []),
      context(`${nextStep}${runbook}`),
    ],
  };
}

/** Slack refused a message for good; told through the other webhook (or the log) so that someone fixes it. */
export interface SlackRefusal {
  /** Which webhook refused: `default webhook` or `critical webhook`. */
  webhook: string;
  /** Slack's error string, e.g. `channel_not_found`. */
  code: string;
  /** The refused message's event and its text, so that what it said is not lost. */
  eventKey: string;
  refusedText: string;
}

export function slackRefusalMessage(refusal: SlackRefusal): SlackMessage {
  const said = escapeMrkdwn(clip(refusal.refusedText, 500));
  const text = `[HIGH] Slack refused a message on the ${refusal.webhook}: ${refusal.code}. Message ${refusal.eventKey} was not posted and will not be retried. It said: ${said}`;
  return {
    text,
    blocks: [
      header(`⚠️ Slack refused a message on the ${refusal.webhook}`),
      fieldsSection([
        ['Slack error', `\`${escapeMrkdwn(refusal.code)}\``],
        ['Message', `\`${escapeMrkdwn(refusal.eventKey)}\``],
      ]),
      section(`*It said:* ${said}`),
      context(
        'Next step: check that the webhook URL is current, the app is installed and the channel exists and is not archived; later messages on that webhook fail the same way until then.',
      ),
    ],
  };
}
