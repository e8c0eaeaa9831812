import { Counter, type Registry } from '@batchline/metrics';
import type { DispatchOutcome } from './store/complete.ts';

/** How one post ended, as operators count it: sent to Slack, written to the log, refused for good, or retried. */
export type SlackSendOutcome = 'sent' | 'logged' | 'failed' | 'retried';

export const slackSendOutcome = (outcome: DispatchOutcome): SlackSendOutcome => {
  switch (outcome.kind) {
    case 'delivered':
      return outcome.via === 'slack' ? 'sent' : 'logged';
    case 'refused':
      return 'failed';
    case 'rate_limited':
    case 'transient':
      return 'retried';
  }
};

/** `batchline_notifier_slack_sends_total{outcome}`: every post attempt, by how it ended. */
export const createSlackSendsCounter = (registry: Registry): Counter<'outcome'> =>
  new Counter({
    name: 'batchline_notifier_slack_sends_total',
    help: 'Slack post attempts by outcome: sent, logged (no webhook configured), failed (refused), retried',
    labelNames: ['outcome'],
    registers: [registry],
  });
