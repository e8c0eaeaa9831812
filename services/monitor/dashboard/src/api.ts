// The admin API as the dashboard uses it. Its answers' types are the server's own (services/monitor/src/api-schema.ts,
// documented field by field in services/monitor/README.md); type-only imports, so none of it is bundled.
import type {
  AlertRuleDelivery,
  AlertRules,
  AlertRulesData,
  AlertsData,
  CancelResult,
  Failure,
  JobData,
  JobState,
  MonitoringData,
  PollingData,
  RetryResult,
  Success,
  TimeRange,
} from '../../src/api-schema.ts';
import type { DetailData, RequestsData } from '../../src/detail-schema.ts';

export type {
  AlertRuleDelivery,
  AlertRules,
  AlertsData,
  BatchJob,
  HistoricalPoint,
  Job,
  JobState,
  JobTypeFigures,
  ModelFigures,
  MonitoringData,
  Performance,
  Polling,
  ProviderFigures,
  ProviderState,
  Queues,
  Summary,
  TimeRange,
  Trends,
} from '../../src/api-schema.ts';
export type { BatcherQueueGroup } from '../../src/batcher-queue-schema.ts';
export type { DetailData, RequestOutcome, RequestsData, TimelineEntry } from '../../src/detail-schema.ts';

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
    const answer = (await response.json().catch(() => null)) as Success<T> | Failure | null;
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
    /** A batch (`123`) or a job (`job-45`) with its figures, batches, error summary and timeline. */
    detail: (key: string): Promise<DetailData> => request('GET', `/${encodeURIComponent(key)}`),
    requests: (
      key: string,
      params: { outcome: 'succeeded' | 'failed' | ''; page: number },
    ): Promise<RequestsData> => {
      const query = new URLSearchParams({ page: String(params.page), limit: '25' });
      if (params.outcome) query.set('outcome', params.outcome);
      return request('GET', `/${encodeURIComponent(key)}/requests?${query}`);
    },
    updateAlerts: (
      settings: Partial<Omit<AlertRules, 'updatedAt' | 'updatedBy' | 'perRule'>> & {
        perRule?: Partial<Record<string, AlertRuleDelivery>>;
      },
    ): Promise<AlertRulesData> => request('POST', '/alerts', settings),
    retry: (id: number): Promise<RetryResult> => request('POST', `/${id}/retry`, {}),
    cancel: (id: number): Promise<CancelResult> => request('POST', `/${id}/cancel`, {}),
    setBatchPaused: (id: number, paused: boolean): Promise<JobData> =>
      request('POST', `/${id}/${paused ? 'pause' : 'resume'}`, {}),
    setPriority: (id: number, priority: number): Promise<JobData> =>
      request('POST', `/${id}/priority`, { priority }),
    setAllPaused: (paused: boolean): Promise<PollingData> =>
      request('POST', `/polling/${paused ? 'pause' : 'resume'}`, {}),
  };
}

export type AdminApi = ReturnType<typeof adminApi>;
