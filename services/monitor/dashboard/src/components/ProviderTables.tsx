import type { ModelFigures, ProviderFigures, ProviderState, TimeRange } from '../api.ts';
import { formatCount, formatPercent, formatTime, formatUsd, TIME_RANGE_LABELS } from '../format.ts';

/** What the poller records of a provider: paused (why, since, until when) or not, and its last rate limit. */
function stateText(state: ProviderState): string {
  if (!state.pause) return 'active';
  const until = state.pause.needsProbe
    ? `until a probe succeeds (next ${formatTime(state.pause.until)})`
    : `until ${formatTime(state.pause.until)}`;
  return `paused (${state.pause.kind}: ${state.pause.reason}) since ${formatTime(state.pause.since)}, ${until}`;
}

/** A row of figures: batches, success rate, batch cost and saving. */
function FigureCells({ figures }: { figures: ProviderFigures | ModelFigures | undefined }) {
  if (!figures) {
    return (
      <td colSpan={4} className="empty-row">
        no batches
      </td>
    );
  }
  const { summary } = figures;
  const landed = summary.processedRequests + summary.failedRequests;
  return (
    <>
      <td className="num" data-figure="batches" data-value={summary.totalJobs}>
        {formatCount(summary.totalJobs)}
      </td>
      <td className="num" data-figure="success-rate" data-value={summary.successRate}>
        {landed > 0 ? formatPercent(summary.successRate) : '—'}
      </td>
      <td className="num" data-figure="batch-cost" data-value={summary.costSavings.batchCost}>
        {formatUsd(summary.costSavings.batchCost)}
        {summary.costSavings.unpricedTokens > 0 ? ' + unpriced' : ''}
      </td>
      <td className="num" data-figure="saved" data-value={summary.costSavings.currentPeriod}>
        {formatUsd(summary.costSavings.currentPeriod)}
      </td>
    </>
  );
}

const FIGURE_HEADERS = (
  <>
    <th className="num">Batches</th>
    <th className="num">Success rate</th>
    <th className="num">Batch cost</th>
    <th className="num">Saved</th>
  </>
);

/** Each provider's state and figures (`providers`, `byProvider`), then the figures per model (`byModel`). */
export function ProviderTables({
  providers,
  byProvider,
  byModel,
  timeRange,
}: {
  providers: ProviderState[];
  byProvider: ProviderFigures[];
  byModel: ModelFigures[];
  timeRange: TimeRange;
}) {
  return (
    <section className="card job-types">
      <h2>By provider and model</h2>
      <table className="job-table" data-testid="provider-table">
        <thead>
          <tr>
            <th>Provider</th>
            <th>State</th>
            <th>Last rate limit</th>
            {FIGURE_HEADERS}
          </tr>
        </thead>
        <tbody>
          {providers.map((state) => (
            <tr
              key={state.provider}
              data-testid={`provider-row-${state.provider}`}
              data-paused={String(state.paused)}
            >
              <td>{state.provider}</td>
              <td data-testid={`provider-state-${state.provider}`}>{stateText(state)}</td>
              <td>
                {state.lastRateLimit
                  ? `${formatTime(state.lastRateLimit.at)} – ${formatTime(state.lastRateLimit.until)}`
                  : 'none recorded'}
              </td>
              <FigureCells figures={byProvider.find((entry) => entry.provider === state.provider)} />
            </tr>
          ))}
        </tbody>
      </table>
      <table className="job-table" data-testid="model-table">
        <thead>
          <tr>
            <th>Provider</th>
            <th>Model</th>
            {FIGURE_HEADERS}
          </tr>
        </thead>
        <tbody>
          {byModel.length === 0 && (
            <tr>
              <td colSpan={6} className="empty-row">
                No batches in the {TIME_RANGE_LABELS[timeRange]}.
              </td>
            </tr>
          )}
          {byModel.map((entry) => (
            <tr
              key={`${entry.provider}/${entry.model ?? ''}`}
              data-testid={`model-row-${entry.provider}-${entry.model ?? 'unknown'}`}
            >
              <td>{entry.provider}</td>
              <td>{entry.model ?? 'unknown'}</td>
              <FigureCells figures={entry} />
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
