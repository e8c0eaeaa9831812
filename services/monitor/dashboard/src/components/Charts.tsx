import type { ReactNode } from 'react';
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { HistoricalPoint, Queues, TimeRange } from '../api.ts';
import { formatBucket, formatUsd, TIME_RANGE_LABELS } from '../format.ts';

export const STATE_COLOURS = {
  pending: '#9aa5b1',
  processing: '#3b82f6',
  completed: '#16a34a',
  failed: '#dc2626',
} as const;

function ChartCard(props: { title: string; testId: string; empty: string | null; children: ReactNode }) {
  return (
    <div className="card chart" data-testid={props.testId}>
      <h2>{props.title}</h2>
      <div className="chart-body">
        {props.empty ? <p className="empty">{props.empty}</p> : null}
        <ResponsiveContainer width="100%" height="100%">
          {props.children}
        </ResponsiveContainer>
      </div>
    </div>
  );
}

export function QueueChart({ queues }: { queues: Queues }) {
  const rows = (Object.keys(STATE_COLOURS) as (keyof Queues)[]).map((state) => ({
    state,
    jobs: queues[state],
  }));
  const empty = rows.every((row) => row.jobs === 0) ? 'No batches yet.' : null;
  return (
    <ChartCard title="Queue status" testId="chart-queues" empty={empty}>
      <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="state" interval={0} tick={{ fontSize: 11 }} />
        <YAxis allowDecimals={false} />
        <Tooltip />
        <Bar dataKey="jobs" name="batches" isAnimationActive={false}>
          {rows.map((row) => (
            <Cell key={row.state} fill={STATE_COLOURS[row.state]} />
          ))}
        </Bar>
      </BarChart>
    </ChartCard>
  );
}

interface SeriesProps {
  historical: HistoricalPoint[];
  bucketMs: number;
  timeRange: TimeRange;
}

const emptyWindow = (historical: HistoricalPoint[], timeRange: TimeRange) =>
  historical.every((point) => point.totalJobs === 0)
    ? `No batches in the ${TIME_RANGE_LABELS[timeRange]}.`
    : null;

export function ThroughputChart({ historical, bucketMs, timeRange }: SeriesProps) {
  const rows = historical.map((point) => ({
    label: formatBucket(point.timestamp, bucketMs),
    succeeded: point.processedRequests,
    failed: point.failedRequests,
  }));
  return (
    <ChartCard
      title="Throughput (requests landed)"
      testId="chart-throughput"
      empty={emptyWindow(historical, timeRange)}
    >
      <AreaChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: -8 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" minTickGap={24} />
        <YAxis allowDecimals={false} />
        <Tooltip />
        <Legend />
        <Area
          type="monotone"
          dataKey="succeeded"
          stackId="requests"
          stroke={STATE_COLOURS.completed}
          fill={STATE_COLOURS.completed}
          fillOpacity={0.35}
          isAnimationActive={false}
        />
        <Area
          type="monotone"
          dataKey="failed"
          stackId="requests"
          stroke={STATE_COLOURS.failed}
          fill={STATE_COLOURS.failed}
          fillOpacity={0.35}
          isAnimationActive={false}
        />
      </AreaChart>
    </ChartCard>
  );
}

export function CostChart({ historical, bucketMs, timeRange }: SeriesProps) {
  const rows = historical.map((point) => ({
    label: formatBucket(point.timestamp, bucketMs),
    paid: point.batchCost,
    saved: point.costSavings,
  }));
  return (
    <ChartCard
      title="Cost and savings vs synchronous"
      testId="chart-cost"
      empty={emptyWindow(historical, timeRange)}
    >
      <BarChart data={rows} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="label" minTickGap={24} />
        <YAxis width={64} tickFormatter={(value: number) => `$${Number(value.toPrecision(2))}`} />
        <Tooltip formatter={(value) => formatUsd(Number(value))} />
        <Legend />
        <Bar dataKey="paid" name="paid (batch)" stackId="cost" fill="#64748b" isAnimationActive={false} />
        <Bar dataKey="saved" name="saved" stackId="cost" fill="#16a34a" isAnimationActive={false} />
      </BarChart>
    </ChartCard>
  );
}
