// How the dashboard writes figures: the API's numbers are exact; these only shape them for people.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export const formatCount = (value: number): string => integer.format(value);

export const formatPercent = (value: number): string => `${oneDecimal.format(value)}%`;

export const formatRate = (value: number): string => oneDecimal.format(value);

/** Dollars: cents once there are some, otherwise enough digits to show a batch of a few cheap requests. */
export function formatUsd(value: number): string {
  if (value === 0) return '$0.00';
  if (Math.abs(value) >= 0.01) return `$${value.toFixed(2)}`;
  return `$${value.toFixed(6)}`;
}

/** A duration: `850 ms`, `42 s`, `7 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

const dateTime = new Intl.DateTimeFormat('en-GB', {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export const formatTime = (iso: string | null): string =>
  iso === null ? '—' : dateTime.format(new Date(iso));

/** A chart axis label for a bucket start: the time of day for short buckets, the date for days. */
export function formatBucket(iso: string, bucketMs: number): string {
  const date = new Date(iso);
  if (bucketMs >= 24 * 3_600_000) return date.toLocaleDateString('en-GB', { month: 'short', day: 'numeric' });
  if (bucketMs >= 6 * 3_600_000) {
    return `${date.toLocaleDateString('en-GB', { month: 'short', day: 'numeric' })} ${String(date.getHours()).padStart(2, '0')}h`;
  }
  return date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

export const TIME_RANGE_LABELS = {
  '1h': 'last hour',
  '24h': 'last 24 hours',
  '7d': 'last 7 days',
  '30d': 'last 30 days',
};

/** The previous period of the same length, as "+12 since yesterday" says it. */
export const PREVIOUS_PERIOD_LABELS = {
  '1h': 'since the hour before',
  '24h': 'since yesterday',
  '7d': 'since the week before',
  '30d': 'since the 30 days before',
};

/** A change with its sign: `+12`, `−3`, `±0`, shaped by the figure's own format. */
export function formatChange(change: number, format: (value: number) => string): string {
  if (change === 0) return `±${format(0)}`;
  return `${change > 0 ? '+' : '−'}${format(Math.abs(change))}`;
}
