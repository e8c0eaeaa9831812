import { z } from 'zod';
import { BatcherQueueGroupSchema } from './batcher-queue-schema.ts';

// The admin API's answers, declared once: the server's handlers return these types and the dashboard reads them
// (type-only imports, so the dashboard bundle carries no zod). services/monitor/README.md documents every field.
// This file imports nothing but zod (and zod-only schema files), so that the dashboard's type check (browser types only) can follow it.

export const JobStateSchema = z.enum(['pending', 'processing', 'completed', 'failed']);
export type JobState = z.infer<typeof JobStateSchema>;

export const TimeRangeSchema = z.enum(['1h', '24h', '7d', '30d']);
export type TimeRange = z.infer<typeof TimeRangeSchema>;

export const AlertChannelSchema = z.enum(['slack', 'log']);
export type AlertChannel = z.infer<typeof AlertChannelSchema>;

const Timestamp = z.iso.datetime();
const BatchLogId = z.number().int().positive();

export const CostSavingsSchema = z.strictObject({
  currentPeriod: z.number(),
  projectedMonthly: z.number(),
  savingsPercentage: z.number(),
  /** What the window's tokens cost through the batch API, and would have cost synchronously. */
  batchCost: z.number(),
  syncCost: z.number(),
  /** Tokens of jobs whose model has no price: left out of every cost figure. */
  unpricedTokens: z.number(),
});

export const SummarySchema = z.strictObject({
  totalJobs: z.number(),
  completedJobs: z.number(),
  failedJobs: z.number(),
  pendingJobs: z.number(),
  totalRequests: z.number(),
  processedRequests: z.number(),
  failedRequests: z.number(),
  costSavings: CostSavingsSchema,
  averageProcessingTime: z.number(),
  successRate: z.number(),
});
export type Summary = z.infer<typeof SummarySchema>;

export const QueuesSchema = z.strictObject({
  pending: z.number(),
  processing: z.number(),
  completed: z.number(),
  failed: z.number(),
});
export type Queues = z.infer<typeof QueuesSchema>;

export const PerformanceSchema = z.strictObject({
  throughput: z.strictObject({
    requestsPerHour: z.number(),
    jobsPerHour: z.number(),
    averageBatchSize: z.number(),
  }),
  efficiency: z.strictObject({
    batchUtilization: z.number(),
    processingEfficiency: z.number(),
    errorRate: z.number(),
  }),
});
export type Performance = z.infer<typeof PerformanceSchema>;

/** The summary and performance figures of the jobs in scope of one job type (`batch_jobs_vp_logs.job_type`). */
export const JobTypeFiguresSchema = z.strictObject({
  jobType: z.string(),
  summary: SummarySchema,
  performance: PerformanceSchema,
});
export type JobTypeFigures = z.infer<typeof JobTypeFiguresSchema>;

/** The same per provider, and per provider and model (null: the model is not recorded). */
export const ProviderFiguresSchema = z.strictObject({
  provider: z.string(),
  summary: SummarySchema,
  performance: PerformanceSchema,
});
export type ProviderFigures = z.infer<typeof ProviderFiguresSchema>;

export const ModelFiguresSchema = z.strictObject({
  provider: z.string(),
  model: z.string().nullable(),
  summary: SummarySchema,
  performance: PerformanceSchema,
});
export type ModelFigures = z.infer<typeof ModelFiguresSchema>;

/**
 * Each summary figure against the previous period of the same length (jobs created in [from − range, from)):
 * its value then and the change since (now − then).
 */
export const TrendFigureSchema = z.enum([
  'totalJobs',
  'completedJobs',
  'failedJobs',
  'pendingJobs',
  'totalRequests',
  'processedRequests',
  'failedRequests',
  'successRate',
  'averageProcessingTime',
  'batchCost',
  'costSavings',
]);
export type TrendFigure = z.infer<typeof TrendFigureSchema>;
export const TrendsSchema = z.strictObject({
  previous: z.strictObject({ from: Timestamp, to: Timestamp }),
  figures: z.record(TrendFigureSchema, z.strictObject({ previous: z.number(), change: z.number() })),
});
export type Trends = z.infer<typeof TrendsSchema>;

/** A provider as the poller records it: paused or not (why, since, until when), and its last rate limit. */
export const ProviderStateSchema = z.strictObject({
  provider: z.string(),
  paused: z.boolean(),
  pause: z
    .strictObject({
      kind: z.string(),
      reason: z.string(),
      since: Timestamp,
      /** A rate limit ends then; other kinds end when a probe succeeds, the next one due then. */
      until: Timestamp,
      needsProbe: z.boolean(),
    })
    .nullable(),
  lastRateLimit: z.strictObject({ at: Timestamp, until: Timestamp }).nullable(),
});
export type ProviderState = z.infer<typeof ProviderStateSchema>;

export const HistoricalPointSchema = z.strictObject({
  timestamp: Timestamp,
  totalJobs: z.number(),
  completedJobs: z.number(),
  failedJobs: z.number(),
  pendingJobs: z.number(),
  totalRequests: z.number(),
  processedRequests: z.number(),
  failedRequests: z.number(),
  batchCost: z.number(),
  syncCost: z.number(),
  costSavings: z.number(),
});
export type HistoricalPoint = z.infer<typeof HistoricalPointSchema>;

export const ErrorSummaryEntrySchema = z.strictObject({
  error: z.string(),
  count: z.number(),
  percentage: z.number(),
});

/** How an estimate was made: results landing, the provider's progress, or the job type's past durations. */
export const EstimateBasisSchema = z.enum(['landing', 'progress', 'history']);

/** One job of the list; the optional fields come with `includeDetails` (and with every action's answer). */
export const JobSchema = z.strictObject({
  id: BatchLogId,
  batchId: z.string(),
  status: JobStateSchema,
  jobType: z.string(),
  requestCount: z.number(),
  completedCount: z.number(),
  failedCount: z.number(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  completedAt: Timestamp.nullable(),
  processingTimeMs: z.number().nullable(),
  provider: z.string(),
  model: z.string().nullable(),
  providerStatus: z.string().nullable(),
  pollingPaused: z.boolean(),
  priority: z.number().int(),
  retryOf: BatchLogId.nullable(),
  retriedAs: BatchLogId.nullable(),
  /** Added with issue 17: when a job still pending should be done (null when final or when nothing supports a guess). */
  estimatedCompletionAt: Timestamp.nullable(),
  estimateBasis: EstimateBasisSchema.nullable(),
  /** The provider's request counts at its last check (done = completed + failed), while pending. */
  providerProgress: z.strictObject({ done: z.number(), total: z.number() }).nullable(),
  costEstimate: z.number().nullable().optional(),
  costSavings: z.number().nullable().optional(),
  tokens: z.strictObject({ prompt: z.number(), completion: z.number() }).optional(),
  errorSummary: z.array(ErrorSummaryEntrySchema).optional(),
});
export type Job = z.infer<typeof JobSchema>;

/** A job's figures (`readBatchJobFigures`): each request counted once across its parts and retry rounds. */
export const BatchJobFiguresSchema = z.strictObject({
  totalRequests: z.number().int(),
  succeededRequests: z.number().int(),
  failedRequests: z.number().int(),
  unresolvedRequests: z.number().int(),
  batches: z.number().int(),
  pendingBatches: z.number().int(),
  retryRounds: z.number().int(),
});
export type BatchJobFigures = z.infer<typeof BatchJobFiguresSchema>;

/** One batch of a job: a part of its submission (`partIndex`) or a retry round (`retryRound` > 0, `retryOf`). */
export const JobBatchSchema = z.strictObject({
  id: BatchLogId,
  batchId: z.string(),
  status: JobStateSchema,
  providerStatus: z.string().nullable(),
  partIndex: z.number().int().nullable(),
  retryRound: z.number().int(),
  retryOf: BatchLogId.nullable(),
  requestCount: z.number(),
  completedCount: z.number(),
  failedCount: z.number(),
  createdAt: Timestamp,
});
export type JobBatch = z.infer<typeof JobBatchSchema>;

/** A batch job (issue 15): a submission, its figures and its batches. `key` is how the API names it (`job-45`). */
export const BatchJobSchema = z.strictObject({
  id: z.number().int().positive(),
  key: z.string(),
  jobType: z.string(),
  provider: z.string(),
  model: z.string().nullable(),
  origin: z.string(),
  outcome: z.enum(['succeeded', 'partially_succeeded', 'failed']).nullable(),
  createdAt: Timestamp,
  finalizedAt: Timestamp.nullable(),
  figures: BatchJobFiguresSchema,
  batches: z.array(JobBatchSchema),
});
export type BatchJob = z.infer<typeof BatchJobSchema>;

export const PollingSchema = z.strictObject({
  paused: z.boolean(),
  changedAt: Timestamp,
  changedBy: z.string().nullable(),
  pausedBatches: z.number().int(),
});
export type Polling = z.infer<typeof PollingSchema>;

export const MonitoringDataSchema = z.strictObject({
  summary: SummarySchema,
  queues: QueuesSchema,
  performance: PerformanceSchema,
  /** Added with job types (issue 14): the figures above, per job type. */
  byJobType: z.array(JobTypeFiguresSchema),
  /** Added with issue 17: per provider and model, the change against the previous period, the providers' state. */
  byProvider: z.array(ProviderFiguresSchema),
  byModel: z.array(ModelFiguresSchema),
  trends: TrendsSchema,
  providers: z.array(ProviderStateSchema),
  jobs: z.array(JobSchema),
  /** Added with issue 15: the batch jobs created in the window (of the job type), newest first, up to `limit`. */
  batchJobs: z.array(BatchJobSchema),
  /** Added with issue 16: the batcher's queue (of the job type) per job type, provider and model. */
  batcherQueue: z.array(BatcherQueueGroupSchema),
  historical: z.array(HistoricalPointSchema),
  pagination: z.strictObject({
    page: z.number().int(),
    limit: z.number().int(),
    total: z.number().int(),
    totalPages: z.number().int(),
  }),
  polling: PollingSchema,
  window: z.strictObject({
    timeRange: TimeRangeSchema,
    from: Timestamp,
    to: Timestamp,
    bucketMs: z.number(),
  }),
});
export type MonitoringData = z.infer<typeof MonitoringDataSchema>;

/**
 * One rule's delivery and scope (added with issue 17): cadence, quiet hours ("HH:MM" on the clocks of an IANA time
 * zone, UTC unless set), job type, provider.
 */
export const AlertRuleDeliverySchema = z.strictObject({
  cadence: z.enum(['immediate', 'hourly', 'daily']),
  quietHours: z.strictObject({ start: z.string(), end: z.string(), timeZone: z.string() }).nullable(),
  jobType: z.string().nullable(),
  provider: z.string().nullable(),
});
export type AlertRuleDelivery = z.infer<typeof AlertRuleDeliverySchema>;

export const AlertConditionSchema = z.enum([
  'high_error_rate',
  'long_processing_time',
  'low_throughput',
  'stuck_batches',
  'batch_failures',
]);

export const AlertRulesSchema = z.strictObject({
  errorRateThreshold: z.number().nullable(),
  processingTimeThreshold: z.number().nullable(),
  throughputThreshold: z.number().nullable(),
  stuckBatchThreshold: z.number().nullable(),
  batchFailureThreshold: z.number().nullable(),
  notificationChannels: z.array(AlertChannelSchema),
  alertSuppression: z.number(),
  evaluationWindow: z.number(),
  perRule: z.record(AlertConditionSchema, AlertRuleDeliverySchema),
  updatedAt: Timestamp,
  updatedBy: z.string().nullable(),
});
export type AlertRules = z.infer<typeof AlertRulesSchema>;

export const RecentAlertSchema = z.strictObject({
  id: z.number().int().positive(),
  condition: z.string(),
  severity: z.string(),
  message: z.string(),
  value: z.number(),
  threshold: z.number(),
  batchLogIds: z.array(BatchLogId),
  channels: z.array(AlertChannelSchema),
  raisedAt: Timestamp,
  /** Held for the digest due then (null: announced at once); the digest that announced it; a digest's count. */
  dueAt: Timestamp.nullable(),
  digestedIn: z.number().int().positive().nullable(),
  digestOf: z.number().int().positive().nullable(),
});
export type RecentAlert = z.infer<typeof RecentAlertSchema>;

export const AlertsDataSchema = z.strictObject({
  rules: AlertRulesSchema,
  recent: z.array(RecentAlertSchema),
});
export type AlertsData = z.infer<typeof AlertsDataSchema>;

export const AlertRulesDataSchema = z.strictObject({ rules: AlertRulesSchema });
export type AlertRulesData = z.infer<typeof AlertRulesDataSchema>;

export const JobDataSchema = z.strictObject({ job: JobSchema });
export type JobData = z.infer<typeof JobDataSchema>;

export const PollingDataSchema = z.strictObject({
  polling: PollingSchema,
  /** With `provider`: how many of its pending batches the pause or resume applied to. */
  batches: z.number().int().nonnegative().optional(),
});
export type PollingData = z.infer<typeof PollingDataSchema>;

export const RetryResultSchema = z.strictObject({
  id: BatchLogId,
  batchId: z.string(),
  retryOf: BatchLogId,
  requests: z.number().int(),
  /** Failed requests with no line in the input file (e.g. `invalid_custom_id`): they cannot be resubmitted. */
  notResubmitted: z.number().int(),
});
export type RetryResult = z.infer<typeof RetryResultSchema>;

export const CancelResultSchema = z.strictObject({
  id: BatchLogId,
  batchId: z.string(),
  providerStatus: z.string(),
});
export type CancelResult = z.infer<typeof CancelResultSchema>;

/** A successful answer: `{"success": true, "data": ...}`. */
export const success = <Data extends z.ZodType>(data: Data) =>
  z.strictObject({ success: z.literal(true), data });
export type Success<Data> = { success: true; data: Data };

/** Any other answer: `{"success": false, "error": {"code", "message", "field", ...}}` (docs/interface.md §7). */
export const FailureSchema = z.strictObject({
  success: z.literal(false),
  error: z.looseObject({ code: z.string(), message: z.string(), field: z.string().nullable() }),
});
export type Failure = z.infer<typeof FailureSchema>;
