// The admin API as the dashboard uses it (services/monitor/README.md documents every field).

export type JobState = 'pending' | 'processing' | 'completed' | 'failed';
export type TimeRange = '1h' | '24h' | '7d' | '30d';

export interface CostSavings {
  currentPeriod: number;
  projectedMonthly: number;
  savingsPercentage: number;
  batchCost: number;
  syncCost: number;
  unpricedTokens: number;
}

export interface Summary {
  totalJobs: number;
  completedJobs: number;
  failedJobs: number;
  pendingJobs: number;
  totalRequests: number;
  processedRequests: number;
  failedRequests: number;
  costSavings: CostSavings;
  averageProcessingTime: number;
  successRate: number;
}

export interface Queues {
  pending: number;
  processing: number;
  completed: number;
  failed: number;
}

export interface Performance {
  throughput: { requestsPerHour: number; jobsPerHour: number; averageBatchSize: number };
  efficiency: { batchUtilization: number; processingEfficiency: number; errorRate: number };
}

export interface HistoricalPoint {
  timestamp: string;
  totalJobs: number;
  completedJobs: number;
  failedJobs: number;
  pendingJobs: number;
  totalRequests: number;
  processedRequests: number;
  failedRequests: number;
  batchCost: number;
  syncCost: number;
  costSavings: number;
}

export interface Job {
  id: number;
  batchId: string;
  status: JobState;
  jobType: string;
  requestCount: number;
  completedCount: number;
  failedCount: number;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  processingTimeMs: number | null;
  provider: string;
  model: string | null;
  providerStatus: string | null;
  pollingPaused: boolean;
  priority: number;
  retryOf: number | null;
  retriedAs: number | null;
  costEstimate?: number | null;
  costSavings?: number | null;
  tokens?: { prompt: number; completion: number };
  errorSummary?: { error: string; count: number; percentage: number }[];
}

export interface Polling {
  paused: boolean;
  changedAt: string;
  changedBy: string | null;
  pausedBatches: number;
}

export interface MonitoringData {
  summary: Summary;
  queues: Queues;
  performance: Performance;
  jobs: Job[];
  historical: HistoricalPoint[];
  pagination: { page: number; limit: number; total: number; totalPages: number };
  polling: Polling;
  window: { timeRange: TimeRange; from: string; to: string; bucketMs: number };
}

export interface AlertRules {
  errorRateThreshold: number | null;
  processingTimeThreshold: number | null;
  throughputThreshold: number | null;
  stuckBatchThreshold: number | null;
  batchFailureThreshold: number | null;
  notificationChannels: ('slack' | 'log')[];
  alertSuppression: number;
  evaluationWindow: number;
  updatedAt: string;
  updatedBy: string | null;
}

export interface RaisedAlert {
  id: number;
  condition: string;
  severity: string;
  message: string;
  value: number;
  threshold: number;
  batchLogIds: number[];
  raisedAt: string;
}

export interface AlertsData {
  rules: AlertRules;
  recent: RaisedAlert[];
}

export interface RetryResult {
  id: number;
  batchId: string;
  retryOf: number;
  requests: number;
  notResubmitted: number;
}

export interface CancelResult {
  id: number;
  batchId: string;
  providerStatus: string;
}

/** An answer other than success, with the API's error code and the field at fault. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

const ADMIN = '/api/admin/batch-monitoring';

/** An admin API client bound to one bearer token. */
export function adminApi(token: string) {
  async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${ADMIN}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = (await response.json().catch(() => null)) as
      | { success: true; data: T }
      | { success: false; error: { code: string; message: string; field: string | null } }
      | null;
    if (!answer) throw new ApiRequestError(response.status, 'bad_response', `HTTP ${response.status}`, null);
    if (!answer.success) {
      throw new ApiRequestError(response.status, answer.error.code, answer.error.message, answer.error.field);
    }
    return answer.data;
  }

  return {
    monitoring(params: {
      timeRange: TimeRange;
      status: JobState | '';
      jobType: string;
      page: number;
      limit: number;
    }): Promise<MonitoringData> {
      const query = new URLSearchParams({
        timeRange: params.timeRange,
        includeDetails: 'true',
        page: String(params.page),
        limit: String(params.limit),
      });
      if (params.status) query.set('status', params.status);
      if (params.jobType) query.set('jobType', params.jobType);
      return request('GET', `?${query}`);
    },
    alerts: (): Promise<AlertsData> => request('GET', '/alerts'),
    updateAlerts: (
      settings: Partial<Omit<AlertRules, 'updatedAt' | 'updatedBy'>>,
    ): Promise<{ rules: AlertRules }> => request('POST', '/alerts', settings),
    retry: (id: number): Promise<RetryResult> => request('POST', `/${id}/retry`, {}),
    cancel: (id: number): Promise<CancelResult> => request('POST', `/${id}/cancel`, {}),
    setBatchPaused: (id: number, paused: boolean): Promise<{ job: Job }> =>
      request('POST', `/${id}/${paused ? 'pause' : 'resume'}`, {}),
    setPriority: (id: number, priority: number): Promise<{ job: Job }> =>
      request('POST', `/${id}/priority`, { priority }),
    setAllPaused: (paused: boolean): Promise<{ polling: Polling }> =>
      request('POST', `/polling/${paused ? 'pause' : 'resume'}`, {}),
  };
}

export type AdminApi = ReturnType<typeof adminApi>;
