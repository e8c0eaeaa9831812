import { sampleJobFinalizedEvent, waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NotifierScenario, startScenario } from './harness.ts';

describe('one Slack message per finalized job, through notifier processes', () => {
  let s: NotifierScenario;
  beforeAll(async () => {
    s = await startScenario('jobmessage');
  });
  afterAll(async () => {
    await s?.close();
  });

  const jobsConsumerDone = async () => {
    const backlog = await s.bus.backlog();
    const jobs = backlog.consumers.find((consumer) => consumer.consumer === 'notifier-jobs');
    return jobs !== undefined && jobs.pending === 0 && jobs.ackPending === 0;
  };

  it('posts one message naming the job, its type, provider, figures and top errors, across replay and restart', async () => {
    const batchJobId = 4242;
    const event = {
      ...sampleJobFinalizedEvent(batchJobId, 'review_sentiment'),
      outcome: 'partially_succeeded' as const,
      totalRequests: 3000,
      succeededRequests: 2990,
      failedRequests: 10,
      batches: 5,
      retryRounds: 2,
      topErrors: [{ code: 'invalid_content', count: 10 }],
    };
    const first = s.startNotifier();
    await s.bus.publish('job.finalized', event, { msgId: `job-finalized:${batchJobId}` });
    const naming = () =>
      s.slack.accepted.filter((message) => message.body.text?.includes(`job ${batchJobId} `));
    await waitFor('the job message posted', () => naming().length === 1, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await first.stop(5_000);

    // The same event again (a replay under another msg id) to a restarted notifier: nothing more is posted.
    s.startNotifier();
    await s.bus.publish('job.finalized', event, { msgId: `replay:1:job-finalized:${batchJobId}` });
    await waitFor('the replayed event consumed', jobsConsumerDone, { timeoutMs: 30_000, intervalMs: 200 });
    const { rows } = await s.pool.query(`SELECT state FROM notifications WHERE event_key = $1`, [
      `job-final:${batchJobId}`,
    ]);
    expect(rows).toEqual([{ state: 'sent' }]);
    expect(naming()).toHaveLength(1);
    const [post] = naming();
    expect(post!.body.text).toBe(
      `⚠️ Job partially succeeded: job ${batchJobId} (review_sentiment, openai): 2990 succeeded, 10 failed of 3000; 5 batches, 2 retry rounds; top errors: invalid_content × 10.`,
    );
    const blocks = JSON.stringify(post!.body.blocks);
    for (const field of ['*Job type*', '*Provider*', '*Succeeded*', '*Retry rounds*', '*Top errors*']) {
      expect(blocks).toContain(field);
    }
  }, 90_000);
});
