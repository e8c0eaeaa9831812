import type { PollerSummaryEvent } from '@batchline/events';
import {
  context,
  fieldsSection,
  header,
  humanDuration,
  percent,
  type SlackMessage,
} from './slack-message.ts';

/** A poller's periodic summary: how much it checked, what changed, how the batches it saw end turned out. */
export function pollerSummaryMessage(summary: PollerSummaryEvent): SlackMessage {
  const period = humanDuration(Math.max(0, Date.parse(summary.periodEnd) - Date.parse(summary.periodStart)));
  const ended = summary.batchesCompleted + summary.batchesFailed;
  const successRate = percent(summary.batchesCompleted, ended);
  const checksOk = percent(summary.batchesChecked - summary.checksFailed, summary.batchesChecked);
  const text = `Poller summary for the last ${period} (${summary.poller}): ${summary.batchesChecked} batches checked (${summary.checksFailed} checks failed), ${summary.transitions} status transitions, ${summary.batchesCompleted} completed and ${summary.batchesFailed} failed at the provider (success rate ${successRate}), ${summary.pendingBatches} pending.`;
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
      context(`${summary.poller}, ${summary.periodStart} – ${summary.periodEnd}`),
    ],
  };
}
