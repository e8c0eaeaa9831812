import type { AlertCondition, AlertRaisedEvent } from '@batchline/events';
import {
  context,
  escapeMrkdwn,
  fieldsSection,
  header,
  humanDuration,
  type SlackMessage,
  section,
} from './slack-message.ts';

const TITLE: Record<AlertCondition, string> = {
  high_error_rate: 'High error rate',
  long_processing_time: 'Long processing time',
  low_throughput: 'Low throughput',
  stuck_batches: 'Stuck batches',
  batch_failures: 'Batch failures',
};

/**
 * Each condition's value and threshold in their units (events.ts `AlertRaisedEvent`): for stuck batches the value
 * counts batches and the threshold is how long a batch must not move to count.
 */
const FORMAT: Record<AlertCondition, { value(n: number): string; threshold(n: number): string }> = {
  high_error_rate: { value: (n) => `${n.toFixed(1)} %`, threshold: (n) => `${n.toFixed(1)} %` },
  long_processing_time: { value: humanDuration, threshold: humanDuration },
  low_throughput: {
    value: (n) => `${n.toFixed(1)} jobs/hour`,
    threshold: (n) => `${n.toFixed(1)} jobs/hour`,
  },
  stuck_batches: { value: (n) => `${n} batches`, threshold: (ms) => `no progress for ${humanDuration(ms)}` },
  batch_failures: { value: (n) => `${n} batches`, threshold: (n) => `${n} batches` },
};

const NEXT_STEP: Record<AlertCondition, string> = {
  high_error_rate:
    'Open the failed batches in the dashboard and look at their most frequent error codes; fix the prompt or input and retry.',
  long_processing_time:
    'Check the provider’s status page and the poller’s health; large batches take longer, consider splitting them.',
  low_throughput:
    'Check that the poller, fetcher and persister are running and that batches are being submitted.',
  stuck_batches:
    'Open the stuck batches in the dashboard: check their last poll error, and the fetcher/persister logs and DLQ.',
  batch_failures:
    'Open the failed batches in the dashboard for the provider’s reasons; resubmit or retry them.',
};

const SEVERITY_ICON: Record<AlertRaisedEvent['severity'], string> = {
  critical: '🚨',
  high: '⚠️',
  medium: '🔶',
  low: 'ℹ️',
};

/** A monitor alert: what crossed which threshold, over which window, which batches, and what to do. */
export function alertMessage(alert: AlertRaisedEvent): SlackMessage {
  const { value, threshold } = FORMAT[alert.condition];
  const batches =
    alert.batchLogIds.length === 0 ? 'n/a' : alert.batchLogIds.map((id) => `batch log ${id}`).join(', ');
  const text = `[${alert.severity.toUpperCase()}] Alert: ${TITLE[alert.condition]}: ${escapeMrkdwn(alert.message)} (${value(alert.value)}, threshold ${threshold(alert.threshold)}, over ${humanDuration(alert.windowMs)}${alert.batchLogIds.length > 0 ? `; ${batches}` : ''}).`;
  return {
    text,
    blocks: [
      header(`${SEVERITY_ICON[alert.severity]} Alert: ${TITLE[alert.condition]}`),
      section(escapeMrkdwn(alert.message)),
      fieldsSection([
        ['Severity', alert.severity],
        ['Measured', value(alert.value)],
        ['Threshold', threshold(alert.threshold)],
        ['Window', humanDuration(alert.windowMs)],
        ['Batches', batches],
        ['Raised at', alert.raisedAt],
        ['Next alert for this no sooner than', alert.suppressedUntil],
      ]),
      context(`Next step: ${NEXT_STEP[alert.condition]}`),
    ],
  };
}
