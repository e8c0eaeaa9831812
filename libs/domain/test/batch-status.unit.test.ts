import { describe, expect, it } from 'vitest';
import { BatchStatus, classifyProviderStatus, isKnownProviderStatus } from '../index.ts';
import { isFinalStatus } from '../src/batch-status.ts';

describe('classifyProviderStatus (OpenAI)', () => {
  it.each(['validating', 'in_progress', 'finalizing', 'cancelling'])('%s is not terminal', (status) => {
    expect(classifyProviderStatus('openai', status)).toEqual({ terminal: false });
  });

  it.each([
    ['completed', BatchStatus.completed, 'completed', true],
    ['expired', BatchStatus.failed, 'expired', true],
    ['cancelled', BatchStatus.failed, 'cancelled', true],
    ['failed', BatchStatus.failed, 'failed', false],
  ] as const)('%s ends with status %d (%s)', (status, finalStatus, reason, hasOutput) => {
    expect(classifyProviderStatus('openai', status)).toEqual({
      terminal: true,
      finalStatus,
      reason,
      hasOutput,
    });
  });

  it('treats an unknown status as not terminal', () => {
    expect(classifyProviderStatus('openai', 'paused_by_provider')).toEqual({ terminal: false });
    expect(isKnownProviderStatus('openai', 'paused_by_provider')).toBe(false);
  });

  it('knows all eight statuses', () => {
    for (const s of [
      'validating',
      'failed',
      'in_progress',
      'finalizing',
      'completed',
      'expired',
      'cancelling',
      'cancelled',
    ]) {
      expect(isKnownProviderStatus('openai', s)).toBe(true);
    }
  });
});

describe('classifyProviderStatus (Anthropic)', () => {
  it.each(['in_progress', 'canceling'])('%s is not terminal', (status) => {
    expect(classifyProviderStatus('anthropic', status)).toEqual({ terminal: false });
  });
  it('ended is terminal with output', () => {
    expect(classifyProviderStatus('anthropic', 'ended')).toEqual({
      terminal: true,
      finalStatus: BatchStatus.completed,
      reason: 'completed',
      hasOutput: true,
    });
  });
  it('an OpenAI status means nothing for Anthropic', () => {
    expect(classifyProviderStatus('anthropic', 'completed')).toEqual({ terminal: false });
  });
});

describe('isFinalStatus', () => {
  it('2 and 9 are final, 1 is not', () => {
    expect(isFinalStatus(1)).toBe(false);
    expect(isFinalStatus(2)).toBe(true);
    expect(isFinalStatus(9)).toBe(true);
  });
});

describe('classifyProviderStatus (Anthropic endings)', () => {
  it('an ended batch with cancelled requests was cancelled: status 9, partial output', () => {
    expect(classifyProviderStatus('anthropic', 'ended', { canceled: 3, expired: 0 })).toEqual({
      terminal: true,
      finalStatus: BatchStatus.failed,
      reason: 'cancelled',
      hasOutput: true,
    });
  });
  it('an ended batch with expired requests expired: status 9, partial output', () => {
    expect(classifyProviderStatus('anthropic', 'ended', { canceled: 0, expired: 1 })).toEqual({
      terminal: true,
      finalStatus: BatchStatus.failed,
      reason: 'expired',
      hasOutput: true,
    });
  });
  it('counts mean nothing before the batch ended', () => {
    expect(classifyProviderStatus('anthropic', 'canceling', { canceled: 3, expired: 0 })).toEqual({
      terminal: false,
    });
  });
});
