import type { JobTypeFigures, TimeRange } from '../api.ts';
import { formatCount, formatPercent, formatRate, formatUsd, TIME_RANGE_LABELS } from '../format.ts';

/** One figure of a job type's row; `data-value` holds the API's exact number (for tests and tooltips). */
function FigureCell({ figure, value, shown }: { figure: string; value: number; shown: string }) {
  return (
    <td className="num" data-figure={figure} data-value={value} title={String(value)}>
      {shown}
    </td>
  );
}

/** The figures of the jobs in scope broken down by job type (`byJobType` of the admin API). */
export function JobTypeTable({
  byJobType,
  timeRange,
  activeJobType,
  onJobType,
}: {
  byJobType: JobTypeFigures[];
  timeRange: TimeRange;
  /** The job type filter in force ('' for none). */
  activeJobType: string;
  /** Shows only this job type's batches (or every job type's, for ''). */
  onJobType: (jobType: string) => void;
}) {
  return (
    <section className="card job-types">
      <h2>By job type</h2>
      <table className="job-table" data-testid="job-type-table">
        <thead>
          <tr>
            <th>Job type</th>
            <th className="num">Batches</th>
            <th className="num">Succeeded</th>
            <th className="num">Failed</th>
            <th className="num">Success rate</th>
            <th className="num">Throughput</th>
            <th className="num">Batch cost</th>
            <th className="num">Saved</th>
          </tr>
        </thead>
        <tbody>
          {byJobType.length === 0 && (
            <tr>
              <td colSpan={8} className="empty-row">
                No batches in the {TIME_RANGE_LABELS[timeRange]}.
              </td>
            </tr>
          )}
          {byJobType.map(({ jobType, summary, performance }) => {
            const landed = summary.processedRequests + summary.failedRequests;
            const { costSavings } = summary;
            return (
              <tr key={jobType} data-testid={`job-type-row-${jobType}`}>
                <td>
                  <button
                    type="button"
                    className="link"
                    title={activeJobType === jobType ? 'show every job type' : `show only ${jobType} batches`}
                    onClick={() => onJobType(activeJobType === jobType ? '' : jobType)}
                  >
                    {jobType}
                  </button>
                </td>
                <FigureCell
                  figure="batches"
                  value={summary.totalJobs}
                  shown={`${formatCount(summary.totalJobs)} (${summary.completedJobs} completed · ${summary.failedJobs} failed · ${summary.pendingJobs} pending)`}
                />
                <FigureCell
                  figure="succeeded"
                  value={summary.processedRequests}
                  shown={formatCount(summary.processedRequests)}
                />
                <FigureCell
                  figure="failed"
                  value={summary.failedRequests}
                  shown={formatCount(summary.failedRequests)}
                />
                <FigureCell
                  figure="success-rate"
                  value={summary.successRate}
                  shown={landed > 0 ? formatPercent(summary.successRate) : '—'}
                />
                <FigureCell
                  figure="throughput"
                  value={performance.throughput.requestsPerHour}
                  shown={`${formatRate(performance.throughput.requestsPerHour)} req/h`}
                />
                <FigureCell
                  figure="batch-cost"
                  value={costSavings.batchCost}
                  shown={`${formatUsd(costSavings.batchCost)}${costSavings.unpricedTokens > 0 ? ' + unpriced' : ''}`}
                />
                <FigureCell
                  figure="saved"
                  value={costSavings.currentPeriod}
                  shown={formatUsd(costSavings.currentPeriod)}
                />
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
