import type { BatchFinalizedEvent } from '@batchline/bus';

export interface SlackMessage {
  text: string;
  blocks: Record<string, unknown>[];
}

const REASON_TEXT: Record<BatchFinalizedEvent['reason'], string> = {
  completed: 'completed by the provider',
  failed: 'the provider failed the batch',
  expired: 'the batch expired at the provider',
  cancelled: 'the batch was cancelled',
  not_found: 'the provider no longer knows this batch',
  max_age: 'the batch outlived BATCH_MAX_AGE and was ended by batchline',
  results_unavailable: 'the result files could not be downloaded',
};

const NEXT_STEP: Record<BatchFinalizedEvent['reason'], string> = {
  completed: 'Nothing to do; failed requests, if any, can be retried from the dashboard.',
  failed: 'Check the provider errors in log_details, fix the input file and submit again.',
  expired: 'Resubmit the failed requests; consider smaller batches.',
  cancelled: 'Resubmit the failed requests if the cancellation was not intended.',
  not_found: 'Check OPENAI_BASE_URL and the key’s organisation; resubmit if the batch is really gone.',
  max_age: 'Resubmit the failed requests; check the provider’s status page for delays.',
  results_unavailable: 'The provider deleted the files; resubmit the failed requests.',
};

const seconds = (from: string | null, to: string): string =>
  from === null ? 'n/a' : `${Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000))} s`;

/**
 * The one final message of a batch (contract §5): the text names the provider batch id, the word `completed` or
 * `failed`, and the counts; the blocks say the same for humans, with the next step.
 */
export function finalMessage(event: BatchFinalizedEvent): SlackMessage {
  const word = event.status === 2 ? 'completed' : 'failed';
  const rate = event.totalSentences === 0 ? 0 : (100 * event.processedSentences) / event.totalSentences;
  // "with errors", not "failed": a completed batch's text must not contain the word scripts look for on failure.
  const counts = `${event.processedSentences}/${event.totalSentences} requests succeeded, ${event.failedSentences} with errors, ${event.associations} associations written`;
  const text = `Batch ${event.providerBatchId} ${word}: ${counts} (batch log ${event.batchLogId}, ${event.provider}${event.status === 9 ? `; ${REASON_TEXT[event.reason]}` : ''}).`;
  const errors =
    event.topErrors.length === 0
      ? 'none'
      : event.topErrors.map((e) => `\`${e.code}\` × ${e.count}`).join(', ');
  const fields = [
    ['Provider batch', `\`${event.providerBatchId}\``],
    ['Batch log', String(event.batchLogId)],
    ['Requests', String(event.totalSentences)],
    ['Succeeded', String(event.processedSentences)],
    ['Failed', String(event.failedSentences)],
    ['Associations', String(event.associations)],
    ['Success rate', `${rate.toFixed(1)} %`],
    ['Submission → landed', seconds(event.submittedAt, event.landedAt)],
    ['Provider done → landed', seconds(event.providerTerminalAt, event.landedAt)],
    ['Unreadable lines', String(event.invalidLines)],
  ];
  return {
    text,
    blocks: [
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: `${event.status === 2 ? '✅' : '❌'} Batch ${word}: ${event.providerBatchId}`.slice(0, 150),
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*Why:* ${REASON_TEXT[event.reason]} (provider status \`${event.providerStatus}\`).`,
        },
      },
      {
        type: 'section',
        fields: fields.map(([label, value]) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` })),
      },
      { type: 'section', text: { type: 'mrkdwn', text: `*Most frequent errors:* ${errors}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Next step: ${NEXT_STEP[event.reason]}` }] },
    ],
  };
}
