import type { Performance, Summary, TimeRange } from '../api.ts';
import {
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  formatUsd,
  TIME_RANGE_LABELS,
} from '../format.ts';

interface CardProps {
  id: string;
  title: string;
  /** The exact figure from the API, for tests and tooltips. */
  value: number;
  shown: string;
  detail: string;
}

function MetricCard({ id, title, value, shown, detail }: CardProps) {
  return (
    <div className="card metric" data-testid={`metric-${id}`} data-value={value} title={String(value)}>
      <div className="metric-title">{title}</div>
      <div className="metric-value">{shown}</div>
      <div className="metric-detail">{detail}</div>
    </div>
  );
}

export function MetricCards({
  summary,
  performance,
  timeRange,
}: {
  summary: Summary;
  performance: Performance;
  timeRange: TimeRange;
}) {
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
        detail={`${summary.completedJobs} completed · ${summary.failedJobs} failed · ${summary.pendingJobs} pending`}
      />
      <MetricCard
        id="success-rate"
        title="Success rate"
        value={summary.successRate}
        shown={landed > 0 ? formatPercent(summary.successRate) : '—'}
        detail={`${formatCount(summary.processedRequests)} of ${formatCount(landed)} landed requests succeeded`}
      />
      <MetricCard
        id="cost-savings"
        title="Cost savings"
        value={savings.currentPeriod}
        shown={formatUsd(savings.currentPeriod)}
        detail={`${formatPercent(savings.savingsPercentage)} vs synchronous · ${formatUsd(savings.projectedMonthly)}/month projected`}
      />
      <MetricCard
        id="processing-time"
        title="Avg processing time"
        value={summary.averageProcessingTime}
        shown={finished > 0 ? formatDuration(summary.averageProcessingTime) : '—'}
        detail="submission to results landed"
      />
      <MetricCard
        id="total-requests"
        title="Requests"
        value={summary.totalRequests}
        shown={formatCount(summary.totalRequests)}
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
        detail={`${formatUsd(savings.syncCost)} at synchronous prices${savings.unpricedTokens > 0 ? ` · ${formatCount(savings.unpricedTokens)} tokens unpriced` : ''}`}
      />
    </section>
  );
}
