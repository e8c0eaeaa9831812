import { useEffect, useState } from 'react';
import type { AdminApi, BatchJob, DetailData, RequestsData, TimeRange } from '../api.ts';
import { formatCount, formatTime, TIME_RANGE_LABELS } from '../format.ts';

type Guarded = <T>(run: () => Promise<T>, onError: (message: string) => void) => Promise<T | null>;

/** A job's state in one word: its outcome once final, else whether batches are still out. */
const jobState = (job: Pick<BatchJob, 'outcome'>, pendingBatches: number): string =>
  job.outcome ?? (pendingBatches > 0 ? 'running' : 'awaiting retry or finalization');

/** The batch jobs created in the window (`batchJobs` of the admin API): figures and batches; a row opens its detail. */
export function BatchJobs({
  jobs,
  timeRange,
  api,
  guarded,
}: {
  jobs: BatchJob[];
  timeRange: TimeRange;
  api: AdminApi;
  guarded: Guarded;
}) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section className="card batch-jobs">
      <h2>Jobs</h2>
      <table className="job-table" data-testid="batch-jobs-table">
        <thead>
          <tr>
            <th>Job</th>
            <th>Type</th>
            <th>State</th>
            <th className="num">Requests</th>
            <th className="num">Succeeded</th>
            <th className="num">Failed</th>
            <th className="num">Unresolved</th>
            <th className="num">Batches</th>
            <th className="num">Retry rounds</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {jobs.length === 0 && (
            <tr>
              <td colSpan={10} className="empty-row">
                No jobs in the {TIME_RANGE_LABELS[timeRange]}.
              </td>
            </tr>
          )}
          {jobs.map((job) => (
            <tr key={job.key} data-testid={`batch-job-row-${job.key}`}>
              <td>
                <button
                  type="button"
                  className="link"
                  onClick={() => setOpen(open === job.key ? null : job.key)}
                >
                  {job.key}
                </button>
              </td>
              <td>{job.jobType}</td>
              <td>{jobState(job, job.figures.pendingBatches)}</td>
              <td className="num">{formatCount(job.figures.totalRequests)}</td>
              <td className="num" data-figure="succeeded" data-value={job.figures.succeededRequests}>
                {formatCount(job.figures.succeededRequests)}
              </td>
              <td className="num" data-figure="failed" data-value={job.figures.failedRequests}>
                {formatCount(job.figures.failedRequests)}
              </td>
              <td className="num">{formatCount(job.figures.unresolvedRequests)}</td>
              <td className="num" data-figure="batches" data-value={job.figures.batches}>
                {formatCount(job.figures.batches)}
              </td>
              <td className="num">{job.figures.retryRounds}</td>
              <td>{formatTime(job.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && (
        <JobDetail key={open} jobKey={open} api={api} guarded={guarded} onClose={() => setOpen(null)} />
      )}
    </section>
  );
}

/** One job: figures, batches (parts and retry rounds), failures by code, and its requests page by page. */
function JobDetail({
  jobKey,
  api,
  guarded,
  onClose,
}: {
  jobKey: string;
  api: AdminApi;
  guarded: Guarded;
  onClose: () => void;
}) {
  const [detail, setDetail] = useState<DetailData | null>(null);
  const [requests, setRequests] = useState<RequestsData | null>(null);
  const [outcome, setOutcome] = useState<'succeeded' | 'failed' | ''>('');
  const [page, setPage] = useState(1);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void guarded(() => api.detail(jobKey), setError).then((loaded) => loaded && setDetail(loaded));
  }, [api, guarded, jobKey]);
  useEffect(() => {
    void guarded(() => api.requests(jobKey, { outcome, page }), setError).then(
      (loaded) => loaded && setRequests(loaded),
    );
  }, [api, guarded, jobKey, outcome, page]);

  return (
    <div className="job-detail" data-testid="job-detail">
      <h3>
        {jobKey}{' '}
        <button type="button" className="link" onClick={onClose}>
          close
        </button>
      </h3>
      {error && (
        <div className="notice notice-error" role="alert">
          {error}
        </div>
      )}
      {detail && (
        <>
          <p data-testid="job-detail-figures">
            {formatCount(detail.figures.succeededRequests)} of {formatCount(detail.figures.totalRequests)}{' '}
            requests succeeded, {formatCount(detail.figures.failedRequests)} failed,{' '}
            {formatCount(detail.figures.unresolvedRequests)} unresolved; {detail.figures.batches} batches,{' '}
            {detail.figures.retryRounds} retry rounds.
            {detail.errorSummary.length > 0 &&
              ` Failures: ${detail.errorSummary.map((entry) => `${entry.error} ${entry.count}`).join(', ')}.`}
          </p>
          <table className="job-table" data-testid="job-detail-batches">
            <thead>
              <tr>
                <th>Batch log</th>
                <th>Part / round</th>
                <th>Status</th>
                <th className="num">Requests</th>
                <th className="num">Succeeded</th>
                <th className="num">Failed</th>
              </tr>
            </thead>
            <tbody>
              {detail.batches.map((batch) => (
                <tr key={batch.id}>
                  <td className="mono">#{batch.id}</td>
                  <td>
                    {batch.retryRound > 0
                      ? `retry round ${batch.retryRound} of #${batch.retryOf}`
                      : `part ${batch.partIndex ?? 0}`}
                  </td>
                  <td>{batch.status}</td>
                  <td className="num">{formatCount(batch.requestCount)}</td>
                  <td className="num">{formatCount(batch.completedCount)}</td>
                  <td className="num">{formatCount(batch.failedCount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <label>
        Requests{' '}
        <select
          aria-label="Request outcome"
          value={outcome}
          onChange={(event) => {
            setOutcome(event.target.value as typeof outcome);
            setPage(1);
          }}
        >
          <option value="">all</option>
          <option value="succeeded">succeeded</option>
          <option value="failed">failed</option>
        </select>
      </label>
      {requests && (
        <>
          <table className="job-table" data-testid="job-detail-requests">
            <thead>
              <tr>
                <th>Request</th>
                <th>Outcome</th>
                <th>Error</th>
                <th>Message</th>
                <th>Batch log</th>
              </tr>
            </thead>
            <tbody>
              {requests.requests.map((request) => (
                <tr key={request.customId} data-testid={`request-${request.customId}`}>
                  <td className="mono">{request.customId}</td>
                  <td>{request.outcome}</td>
                  <td>{request.errorCode ?? ''}</td>
                  <td>{request.errorMessage ?? ''}</td>
                  <td className="mono">#{request.batchLogId}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            Page {requests.pagination.page} of {Math.max(1, requests.pagination.totalPages)} (
            {formatCount(requests.pagination.total)} requests){' '}
            <button type="button" className="link" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              previous
            </button>{' '}
            <button
              type="button"
              className="link"
              disabled={page >= requests.pagination.totalPages}
              onClick={() => setPage(page + 1)}
            >
              next
            </button>
          </p>
        </>
      )}
    </div>
  );
}
