import type { PollerSummaryEvent } from '@batchline/events';
import {
  context,
  fieldsSection,
  header,
  humanDuration,
  percent,
  type SlackMessage,
  section,
} from './slack-message.ts';

const BASIS = {
  landing: 'results landing',
  progress: 'from provider progress',
  history: 'from past batches',
};

/** "batch log 12 (batch_abc, specific_viewpoint) 10/25 requests, done about 2026-12-05T21:52:08Z (from provider progress)" */
function stillProcessingLine(batch: NonNullable<PollerSummaryEvent['stillProcessing']>[number]): string {
  const progress = batch.total === null ? '' : ` ${batch.done ?? 0}/${batch.total} requests,`;
  const estimate =
    batch.estimatedCompletionAt === null || batch.estimateBasis === null
      ? ' no estimate yet'
      : ` done about ${batch.estimatedCompletionAt.replace(/\.\d{3}Z$/, 'Z')} (${BASIS[batch.estimateBasis]})`;
  return `batch log ${batch.batchLogId} (${batch.batchId}, ${batch.jobType})${progress}${estimate}`;
}

/** A poller's periodic summary: how much it checked, what changed, how the batches it saw end turned out. */
export function pollerSummaryMessage(summary: PollerSummaryEvent): SlackMessage {
  const period = humanDuration(Math.max(0, Date.parse(summary.periodEnd) - Date.parse(summary.periodStart)));
  const ended = summary.batchesCompleted + summary.batchesFailed;
  const successRate = percent(summary.batchesCompleted, ended);
  const checksOk = percent(summary.batchesChecked - summary.checksFailed, summary.batchesChecked);
  const still = (summary.stillProcessing ?? []).map(stillProcessingLine);
  const stillText = still.length === 0 ? '' : ` Still processing: ${still.join('; ')}.`;
  const text = `Poller summary for the last ${period} (${summary.poller}): ${summary.batchesChecked} batches checked (${summary.checksFailed} checks failed), ${summary.transitions} status transitions, ${summary.batchesCompleted} completed and ${summary.batchesFailed} failed at the provider (success rate ${successRate}), ${summary.pendingBatches} pending.${stillText}`;
  return {
    text,
    blocks: [
      header(`📊 Poller summary: last ${period}`),
      fieldsSection([
        ['Batches checked', String(summary.batchesChecked)],
        ['Checks succeeded', checksOk],
        ['Status transitions', String(summary.transitions)],
        ['Completed / failed', `${summary.batchesCompleted} / ${summary.batchesFailed}`],
        ['Success rate', successRate],
        ['Still pending', String(summary.pendingBatches)],
      ]),
      ...(still.length === 0
        ? []
        : [section(`*Still processing*\n${still.map((line) => `• ${line}`).join('\n')}`)]),
      context(`${summary.poller}, ${summary.periodStart} – ${summary.periodEnd}`),
    ],
  };
}
