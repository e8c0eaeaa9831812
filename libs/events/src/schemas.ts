import type { z } from 'zod';
import { AlertRaisedEvent } from './alert-raised.ts';
import { BatchFinalizedEvent } from './batch-finalized.ts';
import { BatchRequestEnqueuedEvent } from './batch-request-enqueued.ts';
import { JobFinalizedEvent } from './job-finalized.ts';
import { OpsErrorEvent, PollerSummaryEvent } from './ops-events.ts';
import { ResultsParsedEvent } from './results-parsed.ts';
import { StatusChangedEvent } from './status-changed.ts';
import { type Subject, Subjects } from './subjects.ts';

/** Subject → schema, so a consumer is typed by the subject it reads. */
export const EventSchemas = {
  [Subjects.statusChanged]: StatusChangedEvent,
  [Subjects.resultsParsed]: ResultsParsedEvent,
  [Subjects.batchFinalized]: BatchFinalizedEvent,
  [Subjects.jobFinalized]: JobFinalizedEvent,
  [Subjects.requestsEnqueued]: BatchRequestEnqueuedEvent,
  [Subjects.alertRaised]: AlertRaisedEvent,
  [Subjects.opsError]: OpsErrorEvent,
  [Subjects.pollerSummary]: PollerSummaryEvent,
} as const;
export type EventOf<S extends Subject> = z.infer<(typeof EventSchemas)[S]>;
