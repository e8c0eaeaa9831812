import type { JobFinalizedEvent } from '@batchline/events';
import { context, escapeMrkdwn, fieldsSection, header, percent, type SlackMessage } from './slack-message.ts';

/** A job that ended with failures is worth a look; one that fully succeeded is news. */
export const JOB_SEVERITY = { succeeded: 'low', partially_succeeded: 'medium', failed: 'high' } as const;

const TITLE: Record<JobFinalizedEvent['outcome'], string> = {
  succeeded: '✅ Job succeeded',
  partially_succeeded: '⚠️ Job partially succeeded',
  failed: '❌ Job failed',
};

/**
 * The one message of a finalized job (its parts and retry rounds together): which job, its job type and provider,
 * how many of its requests finally succeeded and failed, over how many batches and rounds, and its top errors.
 */
export function jobMessage(job: JobFinalizedEvent): SlackMessage {
  const errors =
    job.topErrors.length === 0
      ? 'none'
      : job.topErrors.map(({ code, count }) => `${code} × ${count}`).join(', ');
  const figures = `${job.succeededRequests} succeeded, ${job.failedRequests} failed of ${job.totalRequests}`;
  const text = `${TITLE[job.outcome]}: job ${job.batchJobId} (${escapeMrkdwn(job.jobType)}, ${job.provider}): ${figures}; ${job.batches} batches, ${job.retryRounds} retry rounds; top errors: ${escapeMrkdwn(errors)}.`;
  return {
    text,
    blocks: [
      header(`${TITLE[job.outcome]}: job ${job.batchJobId}`),
      fieldsSection([
        ['Job type', escapeMrkdwn(job.jobType)],
        ['Provider', `${job.provider}${job.model === null ? '' : ` (${escapeMrkdwn(job.model)})`}`],
        [
          'Succeeded',
          `${job.succeededRequests} of ${job.totalRequests} (${percent(job.succeededRequests, job.totalRequests)})`,
        ],
        ['Failed', `${job.failedRequests} of ${job.totalRequests}`],
        ['Batches', String(job.batches)],
        ['Retry rounds', String(job.retryRounds)],
        ['Top errors', escapeMrkdwn(errors)],
        ['Finalized at', job.finalizedAt],
      ]),
      context(
        `Its batches and figures: batchline status, the admin API or the dashboard (job ${job.batchJobId}).`,
      ),
    ],
  };
}
