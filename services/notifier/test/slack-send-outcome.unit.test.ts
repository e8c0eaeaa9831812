import { describe, expect, it } from 'vitest';
import { slackSendOutcome } from '../src/metrics.ts';

describe('slackSendOutcome', () => {
  it('names how each post ended', () => {
    expect(slackSendOutcome({ kind: 'delivered', via: 'slack' })).toBe('sent');
    expect(slackSendOutcome({ kind: 'delivered', via: 'log' })).toBe('logged');
    expect(slackSendOutcome({ kind: 'refused', code: 'invalid_payload', error: 'x' })).toBe('failed');
    expect(slackSendOutcome({ kind: 'rate_limited', retryAfterMs: 1000, error: 'x' })).toBe('retried');
    expect(slackSendOutcome({ kind: 'transient', error: 'x', possiblyDelivered: false })).toBe('retried');
  });
});
