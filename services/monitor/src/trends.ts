import type { Summary, TrendFigure, Trends } from './api-schema.ts';
import { money, percent } from './figures.ts';

/** Each trend figure read from a summary, with the rounding of its unit. */
const TREND_FIGURES: Record<TrendFigure, { of: (summary: Summary) => number; round: (n: number) => number }> =
  {
    totalJobs: { of: (s) => s.totalJobs, round: Math.round },
    completedJobs: { of: (s) => s.completedJobs, round: Math.round },
    failedJobs: { of: (s) => s.failedJobs, round: Math.round },
    pendingJobs: { of: (s) => s.pendingJobs, round: Math.round },
    totalRequests: { of: (s) => s.totalRequests, round: Math.round },
    processedRequests: { of: (s) => s.processedRequests, round: Math.round },
    failedRequests: { of: (s) => s.failedRequests, round: Math.round },
    successRate: { of: (s) => s.successRate, round: percent },
    averageProcessingTime: { of: (s) => s.averageProcessingTime, round: Math.round },
    batchCost: { of: (s) => s.costSavings.batchCost, round: money },
    costSavings: { of: (s) => s.costSavings.currentPeriod, round: money },
  };

/**
 * Each summary figure against the previous period of the same length: its value then and the change since
 * ("+12 since yesterday" for totalJobs over 24h). Both summaries are computed the same way, so a change is
 * exactly the difference of the two values the API shows.
 */
export function trendsOf(
  current: Summary,
  previous: Summary,
  previousWindow: { from: Date; to: Date },
): Trends {
  const figures = {} as Trends['figures'];
  for (const [name, figure] of Object.entries(TREND_FIGURES) as [
    TrendFigure,
    (typeof TREND_FIGURES)[TrendFigure],
  ][]) {
    const then = figure.of(previous);
    figures[name] = { previous: then, change: figure.round(figure.of(current) - then) };
  }
  return {
    previous: { from: previousWindow.from.toISOString(), to: previousWindow.to.toISOString() },
    figures,
  };
}
