import type { Polling, TimeRange } from '../api.ts';

const RANGES: TimeRange[] = ['1h', '24h', '7d', '30d'];

export function Header(props: {
  timeRange: TimeRange;
  onTimeRange: (range: TimeRange) => void;
  polling: Polling | null;
  onPollingPaused: (paused: boolean) => void;
  updatedAt: Date | null;
  onRefresh: () => void;
  onSignOut: () => void;
}) {
  const { polling } = props;
  return (
    <header className="header">
      <h1>batchline monitor</h1>
      <fieldset className="segmented" aria-label="Time range">
        {RANGES.map((range) => (
          <button
            key={range}
            type="button"
            className={range === props.timeRange ? 'selected' : ''}
            aria-pressed={range === props.timeRange}
            onClick={() => props.onTimeRange(range)}
          >
            {range}
          </button>
        ))}
      </fieldset>
      {polling && (
        <div className="polling">
          <span className={`pill ${polling.paused ? 'pill-warn' : 'pill-ok'}`} data-testid="polling-state">
            {polling.paused ? 'Polling paused' : 'Polling on'}
            {polling.pausedBatches > 0 && ` · ${polling.pausedBatches} batch(es) paused`}
          </span>
          <button type="button" onClick={() => props.onPollingPaused(!polling.paused)}>
            {polling.paused ? 'Resume all' : 'Pause all'}
          </button>
        </div>
      )}
      <div className="header-end">
        <span className="muted" data-testid="updated-at">
          {props.updatedAt ? `Updated ${props.updatedAt.toLocaleTimeString('en-GB')}` : ''}
        </span>
        <button type="button" onClick={props.onRefresh}>
          Refresh
        </button>
        <button type="button" className="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
