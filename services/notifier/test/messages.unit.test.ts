import type { AlertRaisedEvent, OpsErrorEvent, PollerSummaryEvent } from '@batchline/events';
import { describe, expect, it } from 'vitest';
import { alertMessage } from '../src/messages/alert-message.ts';
import { DIGEST_MAX_ENTRIES, digestMessage } from '../src/messages/digest-message.ts';
import { opsErrorMessage, slackRefusalMessage } from '../src/messages/ops-message.ts';
import { pollerSummaryMessage } from '../src/messages/poller-summary-message.ts';
import { humanDuration, markPossibleRepeat, POSSIBLE_REPEAT_NOTE } from '../src/messages/slack-message.ts';
import type { DigestEntry } from '../src/store/digest.ts';
import { expectWithinSlackLimits } from './slack-limits.ts';

const alert = (overrides: Partial<AlertRaisedEvent> = {}): AlertRaisedEvent => ({
  alertId: 7,
  condition: 'high_error_rate',
  severity: 'critical',
  message: 'Error rate 23.5 % over the last hour <!channel>',
  value: 23.456,
  threshold: 10,
  batchLogIds: [4, 9],
  channels: ['slack'],
  windowMs: 3_600_000,
  raisedAt: '2026-11-23T10:00:00.000Z',
  suppressedUntil: '2026-11-23T11:00:00.000Z',
  ...overrides,
});

const opsError = (overrides: Partial<OpsErrorEvent> = {}): OpsErrorEvent => ({
  occurrenceId: 'provider_auth:openai:2026-11-23T10',
  kind: 'provider_auth',
  severity: 'critical',
  service: 'poller',
  message: 'OpenAI answered 401 to every status check',
  provider: 'openai',
  batchLogId: null,
  providerBatchId: null,
  detail: '401 invalid_api_key',
  since: '2026-11-23T09:50:00.000Z',
  nextStep: null,
  occurredAt: '2026-11-23T10:00:00.000Z',
  ...overrides,
});

describe('alert messages', () => {
  it('say what crossed which threshold over which window, for which batches, and what to do', () => {
    const { text, blocks } = alertMessage(alert());
    expect(text).toBe(
      '[CRITICAL] Alert: High error rate: Error rate 23.5 % over the last hour &lt;!channel&gt; (23.5 %, threshold 10.0 %, over 1 h; batch log 4, batch log 9).',
    );
    const shown = JSON.stringify(blocks);
    expect(shown).toContain('🚨 Alert: High error rate');
    expect(shown).toContain('Next step: Open the failed batches');
    expect(shown).not.toContain('<!channel>');
    expectWithinSlackLimits({ text, blocks });
  });

  it('show each condition in its unit', () => {
    expect(
      alertMessage(alert({ condition: 'long_processing_time', value: 5_400_000, threshold: 3_600_000 })).text,
    ).toContain('(1 h 30 min, threshold 1 h,');
    expect(alertMessage(alert({ condition: 'low_throughput', value: 2, threshold: 5 })).text).toContain(
      '(2.0 jobs/hour, threshold 5.0 jobs/hour,',
    );
    expect(
      alertMessage(alert({ condition: 'stuck_batches', value: 3, threshold: 1_800_000, batchLogIds: [] }))
        .text,
    ).toContain('(3 batches, threshold no progress for 30 min, over 1 h).');
  });
});

describe('operational error messages', () => {
  it('say what broke, since when, and the next step', () => {
    const { text, blocks } = opsErrorMessage(opsError(), null);
    expect(text).toBe(
      '[CRITICAL] Provider authentication failed for 10 min: OpenAI answered 401 to every status check.',
    );
    const shown = JSON.stringify(blocks);
    expect(shown).toContain('OPENAI_API_KEY');
    expect(shown).toContain('401 invalid_api_key');
    expectWithinSlackLimits({ text, blocks });
  });

  it('name the batch and its job type, and prefer the publisher’s next step', () => {
    const message = opsErrorMessage(
      opsError({
        kind: 'results_unreadable',
        severity: 'high',
        since: null,
        batchLogId: 12,
        providerBatchId: 'batch_x',
        message: 'output file is truncated',
        nextStep: 'Re-download with batchline replay',
      }),
      'review_sentiment',
    );
    expect(message.text).toBe(
      '[HIGH] Result file unreadable: output file is truncated (batch log 12 (batch_x)).',
    );
    expect(JSON.stringify(message.blocks)).toContain('Next step: Re-download with batchline replay');
    expect(JSON.stringify(message.blocks)).toContain('*Job type*\\n`review_sentiment`');
  });

  it('announce an episode with its runbook link, and say once that it is over', () => {
    const episode = { key: 'provider_unavailable:openai', number: 3 } as const;
    const outage = {
      kind: 'provider_unavailable' as const,
      severity: 'high' as const,
      message: 'openai has answered only with 5xx errors or timeouts',
      runbookUrl: 'https://runbook.example/runbook.md#provider-unavailable',
    };
    const began = opsErrorMessage(opsError({ ...outage, episode: { ...episode, phase: 'began' } }), null);
    expect(began.text).toBe(
      '[HIGH] Provider unavailable for 10 min: openai has answered only with 5xx errors or timeouts. Runbook: https://runbook.example/runbook.md#provider-unavailable',
    );
    expect(JSON.stringify(began.blocks)).toContain(
      '<https://runbook.example/runbook.md#provider-unavailable|Runbook>',
    );
    expect(JSON.stringify(began.blocks)).toContain('#3');
    const over = opsErrorMessage(
      opsError({ ...outage, message: 'openai answers again', episode: { ...episode, phase: 'over' } }),
      null,
    );
    expect(over.text).toMatch(/^\[RESOLVED\] Provider unavailable over after 10 min: openai answers again\./);
    expect(JSON.stringify(over.blocks)).toContain('is over');
    expect(JSON.stringify(over.blocks)).not.toContain('Next step');
    expectWithinSlackLimits(began);
    expectWithinSlackLimits(over);
  });

  it('report a Slack refusal with what the refused message said', () => {
    const { text, blocks } = slackRefusalMessage({
      webhook: 'default webhook',
      code: 'channel_not_found',
      eventKey: 'final:3',
      refusedText: 'Batch batch_y completed: 10/10 requests succeeded',
    });
    expect(text).toContain('Slack refused a message on the default webhook: channel_not_found');
    expect(text).toContain('It said: Batch batch_y completed');
    expectWithinSlackLimits({ text, blocks });
  });
});

describe('poller summaries', () => {
  it('give checks, transitions and the success rate over the period', () => {
    const summary: PollerSummaryEvent = {
      poller: 'poller-a',
      periodStart: '2026-11-23T09:00:00.000Z',
      periodEnd: '2026-11-23T10:00:00.000Z',
      batchesChecked: 240,
      checksFailed: 6,
      transitions: 31,
      batchesCompleted: 9,
      batchesFailed: 1,
      pendingBatches: 14,
    };
    const { text, blocks } = pollerSummaryMessage(summary);
    expect(text).toBe(
      'Poller summary for the last 1 h (poller-a): 240 batches checked (6 checks failed), 31 status transitions, 9 completed and 1 failed at the provider (success rate 90.0 %), 14 pending.',
    );
    expect(JSON.stringify(blocks)).toContain('97.5 %');
  });

  it('name the batches still processing, with their progress and estimated completion', () => {
    const summary: PollerSummaryEvent = {
      poller: 'poller-a',
      periodStart: '2026-11-23T09:00:00.000Z',
      periodEnd: '2026-11-23T10:00:00.000Z',
      batchesChecked: 4,
      checksFailed: 0,
      transitions: 0,
      batchesCompleted: 0,
      batchesFailed: 0,
      pendingBatches: 2,
      stillProcessing: [
        {
          batchLogId: 12,
          batchId: 'batch_abc',
          jobType: 'specific_viewpoint',
          done: 10,
          total: 25,
          estimatedCompletionAt: '2026-11-23T10:12:30.000Z',
          estimateBasis: 'progress',
        },
        {
          batchLogId: 13,
          batchId: 'batch_def',
          jobType: 'review_sentiment',
          done: null,
          total: null,
          estimatedCompletionAt: null,
          estimateBasis: null,
        },
      ],
    };
    const { text, blocks } = pollerSummaryMessage(summary);
    expect(text).toBe(
      'Poller summary for the last 1 h (poller-a): 4 batches checked (0 checks failed), 0 status transitions, 0 completed and 0 failed at the provider (success rate n/a), 2 pending. Still processing: batch log 12 (batch_abc, specific_viewpoint) 10/25 requests, done about 2026-11-23T10:12:30Z (from provider progress); batch log 13 (batch_def, review_sentiment) no estimate yet.',
    );
    expect(JSON.stringify(blocks)).toContain('• batch log 13 (batch_def, review_sentiment) no estimate yet');
    expectWithinSlackLimits({ text, blocks });
  });
});

describe('digest messages', () => {
  const entry = (i: number, failed = false): DigestEntry => ({
    eventKey: `final:${i}`,
    batchLogId: i,
    severity: failed ? 'high' : 'low',
    occurredAt: new Date(0),
    text: `Batch batch_${i} ${failed ? 'failed' : 'completed'}: 9/10 requests succeeded, 1 with errors, 20 associations written (batch log ${i}, openai).`,
  });

  it('list every batch’s own final line, so each batch is still named in exactly one message', () => {
    const entries = [entry(1), entry(2, true), entry(3)];
    const { text, blocks } = digestMessage(entries, { threshold: 2, windowMs: 60_000 });
    expect(text.split('\n')[0]).toBe('Digest: 3 batches finished (2 completed, 1 failed):');
    for (const e of entries) expect(text).toContain(e.text);
    expect(JSON.stringify(blocks)).toContain('more than 2 final-status messages were due within 1 min');
  });

  it('stay within Slack limits at the most entries one digest takes', () => {
    const entries = Array.from({ length: DIGEST_MAX_ENTRIES }, (_, i) => entry(i + 1, i % 3 === 0));
    expectWithinSlackLimits(digestMessage(entries, { threshold: 10, windowMs: 60_000 }));
  });
});

describe('slack message helpers', () => {
  it('flag a possible repeat in the text and the blocks', () => {
    const marked = markPossibleRepeat({ text: 'Batch b completed: 1/1', blocks: [] });
    expect(marked.text).toBe(`Batch b completed: 1/1 (${POSSIBLE_REPEAT_NOTE})`);
    expect(JSON.stringify(marked.blocks)).toContain('Possible repeat');
  });

  it.each([
    [850, '850 ms'],
    [42_000, '42 s'],
    [725_000, '12 min 5 s'],
    [3_600_000, '1 h'],
    [12_000_000, '3 h 20 min'],
    [187_200_000, '2 d 4 h'],
  ])('write %d ms as %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
