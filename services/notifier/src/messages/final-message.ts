import { BatchStatus } from '@batchline/domain';
import type { BatchFinalizedEvent } from '@batchline/events';
import { DEFAULT_JOB_TYPE } from '@batchline/job-types';
import type { FinalBatchDetails } from '../store/final-batch-details.ts';
import { estimateCost, type Pricing, usd } from './cost.ts';
import {
  context,
  escapeMrkdwn,
  fieldsSection,
  header,
  humanDuration,
  percent,
  type SlackBlock,
  type SlackMessage,
  section,
} from './slack-message.ts';

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
  failed: 'Check the provider errors below, fix the input file and submit again.',
  expired: 'Resubmit the failed requests (retry from the dashboard); consider smaller batches.',
  cancelled: 'Resubmit the failed requests if the cancellation was not intended.',
  not_found: 'Check OPENAI_BASE_URL and the key’s organisation; resubmit if the batch is really gone.',
  max_age: 'Resubmit the failed requests; check the provider’s status page for delays.',
  results_unavailable: 'The provider deleted the files; resubmit the failed requests.',
};

/** Severity of a final-status message: a failed batch matters more (a digest also tells them apart by it). */
export const FINAL_SEVERITY = { completed: 'low', failed: 'high' } as const;

/** How many provider errors the message lists. */
const PROVIDER_ERRORS_SHOWN = 5;

const between = (from: string | null, to: string): string =>
  from === null ? 'n/a' : humanDuration(Math.max(0, Date.parse(to) - Date.parse(from)));

/**
 * How a message names a batch's job type and the rows it wrote. A viewpoint batch keeps the wording
 * docs/interface.md §5 fixes ("associations written", no job type in the text); any other job type is named, and
 * its rows are "rows". Null: the batch log was not found, so its job type is unknown.
 */
export interface JobTypeWording {
  /** The job type's name, or `unknown`. */
  name: string;
  /** `associations` for specific_viewpoint, `rows` otherwise; and the label of their count's field. */
  rows: string;
  rowsField: string;
  /** What the text's parenthesis starts with: empty for specific_viewpoint. */
  textPrefix: string;
}

export function jobTypeWording(jobType: string | null): JobTypeWording {
  if (jobType === DEFAULT_JOB_TYPE) {
    return { name: jobType, rows: 'associations', rowsField: 'Associations', textPrefix: '' };
  }
  const name = jobType ?? 'unknown';
  return { name, rows: 'rows', rowsField: 'Rows written', textPrefix: `job type ${name}, ` };
}

/** The one-line summary of a final status; also its line in a digest. */
export function finalText(event: BatchFinalizedEvent, jobType: string | null): string {
  const wording = jobTypeWording(jobType);
  const word = event.status === BatchStatus.completed ? 'completed' : 'failed';
  // "with errors", not "failed": a completed batch's text must not contain the word scripts look for on failure.
  const counts = `${event.processedSentences}/${event.totalSentences} requests succeeded, ${event.failedSentences} with errors, ${event.associations} ${wording.rows} written`;
  const why = event.status === BatchStatus.failed ? `; ${REASON_TEXT[event.reason]}` : '';
  return `Batch ${event.providerBatchId} ${word}: ${counts} (${wording.textPrefix}batch log ${event.batchLogId}, ${event.provider}${why}).`;
}

function costLine(
  details: FinalBatchDetails | null,
  pricing: Pricing,
  provider: BatchFinalizedEvent['provider'],
): string {
  if (!details) return '*Estimated cost:* unknown (the batch log was not found).';
  if (!details.model) return '*Estimated cost:* unknown (the batch log names no model).';
  const cached =
    details.cachedPromptTokens > 0
      ? ` (${details.cachedPromptTokens.toLocaleString('en-US')} of them cached)`
      : '';
  const tokens = `${details.promptTokens.toLocaleString('en-US')} input${cached} + ${details.completionTokens.toLocaleString('en-US')} output tokens`;
  const cost = estimateCost(pricing, provider, details.model, details);
  if (!cost) {
    return `*Estimated cost:* unknown: no price for \`${escapeMrkdwn(details.model)}\` (${tokens}); add it to MODEL_PRICES.`;
  }
  return `*Estimated cost:* ${usd(cost.batchUsd)} for ${tokens} of \`${escapeMrkdwn(details.model)}\`; the synchronous API would have cost ${usd(cost.synchronousUsd)}, a saving of ${usd(cost.savingUsd)} (${pricing.batchDiscountPercent[provider]} %).`;
}

/** For a batch that ended badly: what the provider said, and what of its output landed anyway. */
function failureBlocks(
  event: BatchFinalizedEvent,
  details: FinalBatchDetails | null,
  wording: JobTypeWording,
): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  const errors = details?.providerErrors ?? [];
  if (errors.length > 0) {
    const lines = errors.slice(0, PROVIDER_ERRORS_SHOWN).map((error) => {
      const where = error.line === null ? '' : ` (line ${error.line})`;
      return `• \`${escapeMrkdwn(error.code ?? 'error')}\`${where}: ${escapeMrkdwn(error.message ?? 'no message')}`;
    });
    const more =
      errors.length > PROVIDER_ERRORS_SHOWN ? `\n…and ${errors.length - PROVIDER_ERRORS_SHOWN} more` : '';
    blocks.push(section(`*Provider errors:*\n${lines.join('\n')}${more}`));
  }
  const partial =
    event.processedSentences > 0
      ? `${event.processedSentences} of ${event.totalSentences} requests landed with ${event.associations} ${wording.rows}`
      : 'no request output landed';
  const notes = [
    details?.missingResults ? `${details.missingResults} requests had no result line` : null,
    details?.downloadError ? `download error: ${escapeMrkdwn(details.downloadError)}` : null,
    details?.inputUnavailable ? `input file unreadable: ${escapeMrkdwn(details.inputUnavailable)}` : null,
  ].filter((note): note is string => note !== null);
  blocks.push(section(`*Partial output:* ${partial}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}.`));
  return blocks;
}

/** Bytes for people: `812 B`, `4.2 KiB`, `1.5 MiB`, `2.1 GiB`. */
export function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The download size and the landing throughput (issue 17), a line of its own beside the fixed fields. */
export function throughputLine(throughput: NonNullable<BatchFinalizedEvent['throughput']>): string {
  const rate = Math.round(throughput.landedRowsPerSecond).toLocaleString('en-US');
  return `Downloaded ${humanBytes(throughput.downloadBytes)} of results · landed ${throughput.landedRows.toLocaleString('en-US')} results at ${rate} rows/s`;
}

/**
 * The one final message of a batch (docs/interface.md §5): the text names the provider batch id, the word `completed` or
 * `failed`, and the counts; the blocks add the figures, cost, errors and the next step.
 */
export function finalMessage(
  event: BatchFinalizedEvent,
  details: FinalBatchDetails | null,
  pricing: Pricing,
): SlackMessage {
  const completed = event.status === BatchStatus.completed;
  const wording = jobTypeWording(details?.jobType ?? null);
  const errors =
    event.topErrors.length === 0
      ? 'none'
      : event.topErrors.map((e) => `\`${escapeMrkdwn(e.code)}\` × ${e.count}`).join(', ');
  const blocks: SlackBlock[] = [
    header(
      `${completed ? '✅' : '❌'} ${wording.name} batch ${completed ? 'completed' : 'failed'}: ${event.providerBatchId}`,
    ),
    section(
      `*Why:* ${REASON_TEXT[event.reason]} (provider status \`${escapeMrkdwn(event.providerStatus)}\`).`,
    ),
    fieldsSection([
      ['Provider batch', `\`${escapeMrkdwn(event.providerBatchId)}\``],
      ['Batch log', String(event.batchLogId)],
      ['Requests', String(event.totalSentences)],
      ['Succeeded', String(event.processedSentences)],
      ['Failed', String(event.failedSentences)],
      [wording.rowsField, String(event.associations)],
      ['Success rate', percent(event.processedSentences, event.totalSentences)],
      ['Submission → landed', between(event.submittedAt, event.landedAt)],
      ['Provider done → landed', between(event.providerTerminalAt, event.landedAt)],
      ['Unreadable lines', String(event.invalidLines)],
    ]),
    section(costLine(details, pricing, event.provider)),
    ...(event.throughput ? [context(throughputLine(event.throughput))] : []),
    section(`*Most frequent errors:* ${errors}`),
    ...(completed ? [] : failureBlocks(event, details, wording)),
    context(`Job type \`${escapeMrkdwn(wording.name)}\` · batch log ${event.batchLogId} · ${event.provider}`),
    context(`Next step: ${NEXT_STEP[event.reason]}`),
  ];
  return { text: finalText(event, details?.jobType ?? null), blocks };
}
