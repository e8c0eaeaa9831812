import { waitFor } from '@batchline/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messagesNaming, type NotifierScenario, startScenario } from './harness.ts';

describe('final messages of two job types, through a notifier process', () => {
  let s: NotifierScenario;
  beforeAll(async () => {
    s = await startScenario('jobtypes');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('name the job type; a viewpoint batch keeps its text, another counts rows written', async () => {
    s.startNotifier();
    const viewpoint = await s.newBatch();
    const sentiment = await s.newBatch(9, 'review_sentiment');
    await s.publishFinal(viewpoint);
    await s.publishFinal(sentiment, { status: 9, reason: 'expired', providerStatus: 'expired' });
    await waitFor(
      'both final messages posted',
      () =>
        messagesNaming(s.slack.accepted, viewpoint).length +
          messagesNaming(s.slack.accepted, sentiment).length ===
        2,
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const [viewpointPost] = messagesNaming(s.slack.accepted, viewpoint);
    expect(viewpointPost!.body.text).toBe(
      `Batch ${viewpoint.providerBatchId} completed: 9/10 requests succeeded, 1 with errors, 21 associations written (batch log ${viewpoint.id}, openai).`,
    );
    expect(JSON.stringify(viewpointPost!.body.blocks)).toContain(
      `✅ specific_viewpoint batch completed: ${viewpoint.providerBatchId}`,
    );

    const [sentimentPost] = messagesNaming(s.slack.accepted, sentiment);
    expect(sentimentPost!.body.text).toBe(
      `Batch ${sentiment.providerBatchId} failed: 2/10 requests succeeded, 8 with errors, 4 rows written (job type review_sentiment, batch log ${sentiment.id}, openai; the batch expired at the provider).`,
    );
    const blocks = JSON.stringify(sentimentPost!.body.blocks);
    expect(blocks).toContain(`❌ review_sentiment batch failed: ${sentiment.providerBatchId}`);
    expect(blocks).toContain(`Job type \`review_sentiment\` · batch log ${sentiment.id} · openai`);
    expect(blocks).toContain('*Rows written*');
  }, 60_000);
});
