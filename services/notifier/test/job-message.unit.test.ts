import { sampleJobFinalizedEvent } from '@batchline/testing';
import { describe, expect, it } from 'vitest';
import { JOB_SEVERITY, jobMessage } from '../src/messages/job-message.ts';

describe('the job message', () => {
  it('names a succeeded job, its type, provider, figures, batches, rounds and no errors', () => {
    const message = jobMessage({ ...sampleJobFinalizedEvent(12), batches: 3, retryRounds: 1 });
    expect(message.text).toBe(
      '✅ Job succeeded: job 12 (specific_viewpoint, openai): 3 succeeded, 0 failed of 3; 3 batches, 1 retry rounds; top errors: none.',
    );
    expect(JSON.stringify(message.blocks)).toContain('gpt-4o-mini');
  });

  it('lists the top errors of a job that failed, and escapes what Slack would read as markup', () => {
    const message = jobMessage({
      ...sampleJobFinalizedEvent(13, 'my_<type>'),
      outcome: 'failed',
      succeededRequests: 0,
      failedRequests: 3,
      topErrors: [
        { code: 'invalid_content', count: 2 },
        { code: 'http_500', count: 1 },
      ],
    });
    expect(message.text).toBe(
      '❌ Job failed: job 13 (my_&lt;type&gt;, openai): 0 succeeded, 3 failed of 3; 1 batches, 0 retry rounds; top errors: invalid_content × 2, http_500 × 1.',
    );
  });

  it('is louder the worse the job ended', () => {
    expect(JOB_SEVERITY).toEqual({ succeeded: 'low', partially_succeeded: 'medium', failed: 'high' });
  });
});
