/**
 * Every event's subject (without the namespace prefix) and its one schema. Types are inferred from the schemas;
 * publishers and consumers both validate against them.
 */
export const Subjects = {
  statusChanged: 'batch.status.changed',
  resultsParsed: 'batch.results.parsed',
  batchFinalized: 'batch.finalized',
  jobFinalized: 'job.finalized',
  requestsEnqueued: 'batch.requests.enqueued',
  alertRaised: 'alert.raised',
  opsError: 'ops.error',
  pollerSummary: 'ops.poller.summary',
} as const;
export type Subject = (typeof Subjects)[keyof typeof Subjects];
