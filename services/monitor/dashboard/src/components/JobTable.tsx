import { type FormEvent, Fragment, useState } from 'react';
import type { Filters } from '../App.tsx';
import type { Job, JobState, MonitoringData, TimeRange } from '../api.ts';
import {
  formatCount,
  formatDuration,
  formatPercent,
  formatTime,
  formatUsd,
  TIME_RANGE_LABELS,
} from '../format.ts';

const STATES: JobState[] = ['pending', 'processing', 'completed', 'failed'];

const isFinal = (job: Job) => job.status === 'completed' || job.status === 'failed';
const canRetry = (job: Job) => isFinal(job) && job.failedCount > 0 && job.retriedAs === null;
const canCancel = (job: Job) => !isFinal(job);

interface Props {
  jobs: Job[];
  pagination: MonitoringData['pagination'];
  timeRange: TimeRange;
  filters: Filters;
  onFilters: (filters: Filters) => void;
  onPage: (page: number) => void;
  onRetry: (job: Job) => void;
  onCancel: (job: Job) => void;
  onPaused: (job: Job, paused: boolean) => void;
  onPriority: (job: Job, priority: number) => void;
}

function JobFilters({ filters, onFilters }: Pick<Props, 'filters' | 'onFilters'>) {
  const [jobType, setJobType] = useState(filters.jobType);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onFilters({ ...filters, jobType: jobType.trim() });
  };
  return (
    <form className="filters" onSubmit={submit}>
      <label htmlFor="status-filter">Status</label>
      <select
        id="status-filter"
        value={filters.status}
        onChange={(event) => onFilters({ ...filters, status: event.target.value as JobState | '' })}
      >
        <option value="">all</option>
        {STATES.map((state) => (
          <option key={state} value={state}>
            {state}
          </option>
        ))}
      </select>
      <label htmlFor="job-type-filter">Job type</label>
      <input
        id="job-type-filter"
        placeholder="any"
        value={jobType}
        onChange={(event) => setJobType(event.target.value)}
      />
      <button type="submit">Apply</button>
    </form>
  );
}

function JobDetails({ job, onPaused, onPriority }: { job: Job } & Pick<Props, 'onPaused' | 'onPriority'>) {
  const [priority, setPriority] = useState(String(job.priority));
  return (
    <div className="details" data-testid={`job-details-${job.id}`}>
      <dl>
        <dt>Provider</dt>
        <dd>
          {job.provider} · {job.model ?? 'model unknown'} · {job.providerStatus ?? 'not checked yet'}
        </dd>
        <dt>Started / completed</dt>
        <dd>
          {formatTime(job.startedAt)} / {formatTime(job.completedAt)}
        </dd>
        <dt>Tokens</dt>
        <dd>
          {job.tokens
            ? `${formatCount(job.tokens.prompt)} prompt · ${formatCount(job.tokens.completion)} completion`
            : '—'}
        </dd>
        <dt>Cost / saved</dt>
        <dd>
          {job.costEstimate == null ? 'model not priced' : formatUsd(job.costEstimate)} /{' '}
          {job.costSavings == null ? '—' : formatUsd(job.costSavings)}
        </dd>
        {job.retryOf !== null && (
          <>
            <dt>Retry of</dt>
            <dd>batch log #{job.retryOf}</dd>
          </>
        )}
        {job.retriedAs !== null && (
          <>
            <dt>Retried as</dt>
            <dd>batch log #{job.retriedAs}</dd>
          </>
        )}
      </dl>
      {!isFinal(job) && (
        <div className="controls">
          <button type="button" onClick={() => onPaused(job, !job.pollingPaused)}>
            {job.pollingPaused ? 'Resume polling' : 'Pause polling'}
          </button>
          <label htmlFor={`priority-${job.id}`}>Priority</label>
          <input
            id={`priority-${job.id}`}
            type="number"
            min={-100}
            max={100}
            value={priority}
            onChange={(event) => setPriority(event.target.value)}
          />
          <button type="button" onClick={() => onPriority(job, Number(priority))}>
            Set
          </button>
        </div>
      )}
      <h3>Errors</h3>
      {job.errorSummary && job.errorSummary.length > 0 ? (
        <table className="errors">
          <thead>
            <tr>
              <th>Error</th>
              <th>Requests</th>
              <th>Share</th>
            </tr>
          </thead>
          <tbody>
            {job.errorSummary.map((entry) => (
              <tr key={entry.error}>
                <td>{entry.error}</td>
                <td>{formatCount(entry.count)}</td>
                <td>{formatPercent(entry.percentage)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No failed requests.</p>
      )}
    </div>
  );
}

const ESTIMATE_BASIS = {
  landing: 'results landing',
  progress: 'from provider progress',
  history: 'from past batches',
};

/** A pending job's estimated completion and what it rests on; a dash for a final job. */
function estimateText(job: Job): string {
  if (job.status === 'completed' || job.status === 'failed') return '—';
  if (!job.estimatedCompletionAt || !job.estimateBasis) return 'unknown';
  const progress = job.providerProgress
    ? ` · ${job.providerProgress.done}/${job.providerProgress.total}`
    : '';
  return `${formatTime(job.estimatedCompletionAt)} (${ESTIMATE_BASIS[job.estimateBasis]}${progress})`;
}

export function JobTable(props: Props) {
  const [open, setOpen] = useState<number | null>(null);
  const { jobs, pagination } = props;
  const confirmThen = (question: string, run: () => void) => {
    if (window.confirm(question)) run();
  };
  return (
    <section className="card jobs">
      <div className="jobs-head">
        <h2>Batches</h2>
        {/* Keyed by the job type filter: the job type table can change it, and the input then shows it. */}
        <JobFilters key={props.filters.jobType} filters={props.filters} onFilters={props.onFilters} />
      </div>
      <table className="job-table" data-testid="job-table">
        <thead>
          <tr>
            <th>ID</th>
            <th>Provider batch</th>
            <th>Status</th>
            <th>Type</th>
            <th className="num">Requests</th>
            <th className="num">Succeeded</th>
            <th className="num">Failed</th>
            <th>Created</th>
            <th className="num">Processing</th>
            <th>Estimated completion</th>
            <th className="num">Cost</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {jobs.length === 0 && (
            <tr>
              <td colSpan={12} className="empty-row">
                No batches in the {TIME_RANGE_LABELS[props.timeRange]}
                {props.filters.status || props.filters.jobType ? ' that match the filters' : ''}. Submit one
                with <code>npx batchline submit --input FILE</code>.
              </td>
            </tr>
          )}
          {jobs.map((job) => (
            <Fragment key={job.id}>
              <tr data-testid={`job-row-${job.id}`} data-status={job.status}>
                <td>
                  #{job.id}
                  {job.retryOf !== null && <span className="muted"> (retry of #{job.retryOf})</span>}
                </td>
                <td className="mono">{job.batchId}</td>
                <td>
                  <span className={`badge badge-${job.status}`}>{job.status}</span>
                  {job.pollingPaused && <span className="badge badge-paused">paused</span>}
                </td>
                <td>{job.jobType}</td>
                <td className="num">{formatCount(job.requestCount)}</td>
                <td className="num">{formatCount(job.completedCount)}</td>
                <td className="num">{formatCount(job.failedCount)}</td>
                <td>{formatTime(job.createdAt)}</td>
                <td className="num">
                  {job.processingTimeMs === null ? '—' : formatDuration(job.processingTimeMs)}
                </td>
                <td
                  data-testid={`job-estimate-${job.id}`}
                  data-basis={job.estimateBasis ?? ''}
                  title={
                    job.providerProgress
                      ? `${job.providerProgress.done} of ${job.providerProgress.total} requests done at the provider`
                      : undefined
                  }
                >
                  {estimateText(job)}
                </td>
                <td className="num">{job.costEstimate == null ? '—' : formatUsd(job.costEstimate)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setOpen(open === job.id ? null : job.id)}>
                    {open === job.id ? 'Hide' : 'Details'}
                  </button>
                  <button
                    type="button"
                    disabled={!canRetry(job)}
                    title={
                      job.retriedAs !== null ? `retried as #${job.retriedAs}` : 'resubmit the failed requests'
                    }
                    onClick={() =>
                      confirmThen(
                        `Resubmit the ${job.failedCount} failed requests of batch log #${job.id}?`,
                        () => props.onRetry(job),
                      )
                    }
                  >
                    Retry
                  </button>
                  <button
                    type="button"
                    className="danger"
                    disabled={!canCancel(job)}
                    onClick={() =>
                      confirmThen(`Cancel batch log #${job.id} (${job.batchId}) at the provider?`, () =>
                        props.onCancel(job),
                      )
                    }
                  >
                    Cancel
                  </button>
                </td>
              </tr>
              {open === job.id && (
                <tr className="details-row">
                  <td colSpan={12}>
                    <JobDetails job={job} onPaused={props.onPaused} onPriority={props.onPriority} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button
          type="button"
          disabled={pagination.page <= 1}
          onClick={() => props.onPage(pagination.page - 1)}
        >
          Previous
        </button>
        <span data-testid="pager">
          Page {pagination.page} of {Math.max(1, pagination.totalPages)} · {formatCount(pagination.total)}{' '}
          batches
        </span>
        <button
          type="button"
          disabled={pagination.page >= pagination.totalPages}
          onClick={() => props.onPage(pagination.page + 1)}
        >
          Next
        </button>
      </div>
    </section>
  );
}
