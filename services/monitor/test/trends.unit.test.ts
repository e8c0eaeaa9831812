import { describe, expect, it } from 'vitest';
import type { Summary } from '../src/api-schema.ts';
import { trendsOf } from '../src/trends.ts';

const summary = (over: Partial<Summary>, cost: Partial<Summary['costSavings']> = {}): Summary => ({
  totalJobs: 0,
  completedJobs: 0,
  failedJobs: 0,
  pendingJobs: 0,
  totalRequests: 0,
  processedRequests: 0,
  failedRequests: 0,
  averageProcessingTime: 0,
  successRate: 0,
  ...over,
  costSavings: {
    currentPeriod: 0,
    projectedMonthly: 0,
    savingsPercentage: 0,
    batchCost: 0,
    syncCost: 0,
    unpricedTokens: 0,
    ...cost,
  },
});

const window = { from: new Date('2026-12-04T12:00:00Z'), to: new Date('2026-12-05T12:00:00Z') };

describe('trendsOf', () => {
  it('gives every figure its previous value and the change since, signed', () => {
    const now = summary(
      {
        totalJobs: 20,
        completedJobs: 15,
        failedJobs: 3,
        pendingJobs: 2,
        totalRequests: 900,
        successRate: 91.5,
      },
      { batchCost: 1.25, currentPeriod: 1.25 },
    );
    const then = summary(
      {
        totalJobs: 8,
        completedJobs: 8,
        totalRequests: 1000,
        successRate: 95.25,
        averageProcessingTime: 60_000,
      },
      { batchCost: 0.5, currentPeriod: 0.75 },
    );
    const trends = trendsOf(now, then, window);
    expect(trends.previous).toEqual({ from: '2026-12-04T12:00:00.000Z', to: '2026-12-05T12:00:00.000Z' });
    expect(trends.figures).toEqual({
      totalJobs: { previous: 8, change: 12 },
      completedJobs: { previous: 8, change: 7 },
      failedJobs: { previous: 0, change: 3 },
      pendingJobs: { previous: 0, change: 2 },
      totalRequests: { previous: 1000, change: -100 },
      processedRequests: { previous: 0, change: 0 },
      failedRequests: { previous: 0, change: 0 },
      successRate: { previous: 95.25, change: -3.75 },
      averageProcessingTime: { previous: 60_000, change: -60_000 },
      batchCost: { previous: 0.5, change: 0.75 },
      costSavings: { previous: 0.75, change: 0.5 },
    });
  });

  it('rounds changes to the unit of their figure (no float noise)', () => {
    const trends = trendsOf(
      summary({ successRate: 0.3 }, { batchCost: 0.3, currentPeriod: 0.000003 }),
      summary({ successRate: 0.1 }, { batchCost: 0.1, currentPeriod: 0.000001 }),
      window,
    );
    expect(trends.figures.successRate.change).toBe(0.2);
    expect(trends.figures.batchCost.change).toBe(0.2);
    expect(trends.figures.costSavings.change).toBe(0.000002);
  });
});
