import type { Performance, Summary, TimeRange, Trends } from '../api.ts';
import {
  formatChange,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  formatUsd,
  PREVIOUS_PERIOD_LABELS,
  TIME_RANGE_LABELS,
} from '../format.ts';

/** A card's change against the previous period: the figure, its format, and the label of that period. */
interface Trend {
  change: number;
  format: (value: number) => string;
  since: string;
  /** Whether a rise is good news (more jobs, a higher success rate) or bad (a longer processing time, cost). */
  riseIs: 'good' | 'bad';
}

interface CardProps {
  id: string;
  title: string;
  /** The exact figure from the API, for tests and tooltips. */
  value: number;
  shown: string;
  detail: string;
  trend?: Trend;
}

function MetricCard({ id, title, value, shown, detail, trend }: CardProps) {
  return (
    <div className="card metric" data-testid={`metric-${id}`} data-value={value} title={String(value)}>
      <div className="metric-title">{title}</div>
      <div className="metric-value">{shown}</div>
      {trend && (
        <div
          className={`metric-trend ${trend.change === 0 ? 'flat' : trend.change > 0 === (trend.riseIs === 'good') ? 'good' : 'bad'}`}
          data-testid={`trend-${id}`}
          data-change={trend.change}
        >
          {formatChange(trend.change, trend.format)} {trend.since}
        </div>
      )}
      <div className="metric-detail">{detail}</div>
    </div>
  );
}

export function MetricCards({
  summary,
  performance,
  timeRange,
  trends,
}: {
  summary: Summary;
  performance: Performance;
  timeRange: TimeRange;
  trends: Trends;
}) {
  const since = PREVIOUS_PERIOD_LABELS[timeRange];
  const trend = (
    figure: keyof Trends['figures'],
    format: (value: number) => string,
    riseIs: Trend['riseIs'] = 'good',
  ): Trend => ({ change: trends.figures[figure]?.change ?? 0, format, since, riseIs });
  const landed = summary.processedRequests + summary.failedRequests;
  const finished = summary.completedJobs + summary.failedJobs;
  const savings = summary.costSavings;
  return (
    <section className="metrics" aria-label={`Figures for the ${TIME_RANGE_LABELS[timeRange]}`}>
      <MetricCard
        id="total-jobs"
        title="Total jobs"
        value={summary.totalJobs}
        shown={formatCount(summary.totalJobs)}
        trend={trend('totalJobs', formatCount)}
        detail={`${summary.completedJobs} completed · ${summary.failedJobs} failed · ${summary.pendingJobs} pending`}
      />
      <MetricCard
        id="success-rate"
        title="Success rate"
        value={summary.successRate}
        shown={landed > 0 ? formatPercent(summary.successRate) : '—'}
        trend={trend('successRate', formatPercent)}
        detail={`${formatCount(summary.processedRequests)} of ${formatCount(landed)} landed requests succeeded`}
      />
      <MetricCard
        id="cost-savings"
        title="Cost savings"
        value={savings.currentPeriod}
        shown={formatUsd(savings.currentPeriod)}
        trend={trend('costSavings', formatUsd)}
        detail={`${formatPercent(savings.savingsPercentage)} vs synchronous · ${formatUsd(savings.projectedMonthly)}/month projected`}
      />
      <MetricCard
        id="processing-time"
        title="Avg processing time"
        value={summary.averageProcessingTime}
        shown={finished > 0 ? formatDuration(summary.averageProcessingTime) : '—'}
        trend={trend('averageProcessingTime', formatDuration, 'bad')}
        detail="submission to results landed"
      />
      <MetricCard
        id="total-requests"
        title="Requests"
        value={summary.totalRequests}
        shown={formatCount(summary.totalRequests)}
        trend={trend('totalRequests', formatCount)}
        detail={`${formatCount(summary.processedRequests)} processed · ${formatCount(summary.failedRequests)} failed`}
      />
      <MetricCard
        id="error-rate"
        title="Error rate"
        value={performance.efficiency.errorRate}
        shown={landed > 0 ? formatPercent(performance.efficiency.errorRate) : '—'}
        detail={`job success ${formatPercent(performance.efficiency.processingEfficiency)} · batch fill ${formatPercent(performance.efficiency.batchUtilization)}`}
      />
      <MetricCard
        id="throughput"
        title="Throughput"
        value={performance.throughput.requestsPerHour}
        shown={`${formatRate(performance.throughput.requestsPerHour)} req/h`}
        detail={`${formatRate(performance.throughput.jobsPerHour)} jobs/h · ${formatRate(performance.throughput.averageBatchSize)} requests per batch`}
      />
      <MetricCard
        id="batch-cost"
        title="Batch cost"
        value={savings.batchCost}
        shown={formatUsd(savings.batchCost)}
        trend={trend('batchCost', formatUsd, 'bad')}
        detail={`${formatUsd(savings.syncCost)} at synchronous prices${savings.unpricedTokens > 0 ? ` · ${formatCount(savings.unpricedTokens)} tokens unpriced` : ''}`}
      />
    </section>
  );
}
