import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  type AdminApi,
  ApiRequestError,
  adminApi,
  type JobState,
  type MonitoringData,
  type TimeRange,
} from './api.ts';
import { AlertsPanel } from './components/AlertsPanel.tsx';
import { BatcherQueue } from './components/BatcherQueue.tsx';
import { BatchJobs } from './components/BatchJobs.tsx';
import { CostChart, QueueChart, ThroughputChart } from './components/Charts.tsx';
import { Header } from './components/Header.tsx';
import { JobTable } from './components/JobTable.tsx';
import { JobTypeTable } from './components/JobTypeTable.tsx';
import { MetricCards } from './components/MetricCards.tsx';
import { ProviderTables } from './components/ProviderTables.tsx';
import { TokenGate } from './components/TokenGate.tsx';

const TOKEN_KEY = 'batchline-admin-token';
/** How often the dashboard reloads its figures by itself. */
export const REFRESH_MS = 15_000;
const PAGE_SIZE = 25;

export interface Filters {
  status: JobState | '';
  jobType: string;
}

export interface Notice {
  kind: 'success' | 'error';
  text: string;
}

export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [signInError, setSignInError] = useState<string | null>(null);
  const [timeRange, setTimeRange] = useState<TimeRange>('24h');
  const [filters, setFilters] = useState<Filters>({ status: '', jobType: '' });
  const [page, setPage] = useState(1);
  const [data, setData] = useState<MonitoringData | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [reloads, setReloads] = useState(0);
  const latest = useRef(0);

  const api: AdminApi | null = useMemo(() => (token ? adminApi(token) : null), [token]);

  const signOut = useCallback((reason: string | null) => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setData(null);
    setSignInError(reason);
  }, []);

  const signIn = (value: string) => {
    sessionStorage.setItem(TOKEN_KEY, value);
    setSignInError(null);
    setToken(value);
  };

  /** Runs a request; a 401 signs out, any other failure is shown. Returns null when it failed. */
  const guarded = useCallback(
    async <T,>(run: () => Promise<T>, onError: (message: string) => void): Promise<T | null> => {
      try {
        return await run();
      } catch (error) {
        if (error instanceof ApiRequestError && error.status === 401) {
          signOut('That token was not accepted.');
        } else {
          onError(error instanceof Error ? error.message : String(error));
        }
        return null;
      }
    },
    [signOut],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: `reloads` asks for a reload after an action.
  useEffect(() => {
    if (!api) return;
    let stopped = false;
    const load = async () => {
      const request = ++latest.current;
      const loaded = await guarded(
        () => api.monitoring({ timeRange, ...filters, page, limit: PAGE_SIZE }),
        (message) => setLoadError(message),
      );
      // An answer to an older request (filters changed meanwhile) is dropped.
      if (stopped || request !== latest.current || loaded === null) return;
      setData(loaded);
      setLoadError(null);
      setUpdatedAt(new Date());
    };
    void load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, guarded, timeRange, filters, page, reloads]);

  const act = useCallback(
    async <T,>(run: (api: AdminApi) => Promise<T>, describe: (result: T) => string) => {
      if (!api) return;
      const result = await guarded(
        () => run(api),
        (message) => setNotice({ kind: 'error', text: message }),
      );
      if (result !== null) setNotice({ kind: 'success', text: describe(result) });
      setReloads((n) => n + 1);
    },
    [api, guarded],
  );

  if (!api) return <TokenGate error={signInError} onSubmit={signIn} />;

  return (
    <div className="page">
      <Header
        timeRange={timeRange}
        onTimeRange={(range) => {
          setTimeRange(range);
          setPage(1);
        }}
        polling={data?.polling ?? null}
        onPollingPaused={(paused) =>
          act(
            (client) => client.setAllPaused(paused),
            () => (paused ? 'Polling paused for every batch.' : 'Polling resumed.'),
          )
        }
        updatedAt={updatedAt}
        onRefresh={() => setReloads((n) => n + 1)}
        onSignOut={() => signOut(null)}
      />
      {notice && (
        <div className={`notice notice-${notice.kind}`} role="status" data-testid="notice">
          {notice.text}
          <button type="button" className="link" onClick={() => setNotice(null)}>
            dismiss
          </button>
        </div>
      )}
      {loadError && (
        <div className="notice notice-error" role="alert">
          Could not load the figures: {loadError}
        </div>
      )}
      {data === null ? (
        <p className="loading">Loading…</p>
      ) : (
        <>
          <MetricCards
            summary={data.summary}
            performance={data.performance}
            timeRange={timeRange}
            trends={data.trends}
          />
          <section className="charts">
            <QueueChart queues={data.queues} />
            <ThroughputChart
              historical={data.historical}
              bucketMs={data.window.bucketMs}
              timeRange={timeRange}
            />
            <CostChart historical={data.historical} bucketMs={data.window.bucketMs} timeRange={timeRange} />
          </section>
          <BatcherQueue groups={data.batcherQueue} />
          <JobTypeTable
            byJobType={data.byJobType}
            timeRange={timeRange}
            activeJobType={filters.jobType}
            onJobType={(jobType) => {
              setFilters({ ...filters, jobType });
              setPage(1);
            }}
          />
          <ProviderTables
            providers={data.providers}
            byProvider={data.byProvider}
            byModel={data.byModel}
            timeRange={timeRange}
          />
          <BatchJobs jobs={data.batchJobs} timeRange={timeRange} api={api} guarded={guarded} />
          <JobTable
            jobs={data.jobs}
            pagination={data.pagination}
            timeRange={timeRange}
            filters={filters}
            onFilters={(next) => {
              setFilters(next);
              setPage(1);
            }}
            onPage={setPage}
            onRetry={(job) =>
              act(
                (client) => client.retry(job.id),
                (retry) =>
                  `Retry of batch log #${job.id} submitted as batch log #${retry.id} (${retry.requests} requests).`,
              )
            }
            onCancel={(job) =>
              act(
                (client) => client.cancel(job.id),
                (cancelled) => `Batch log #${job.id} is ${cancelled.providerStatus} at the provider.`,
              )
            }
            onPaused={(job, paused) =>
              act(
                (client) => client.setBatchPaused(job.id, paused),
                () => `Polling of batch log #${job.id} ${paused ? 'paused' : 'resumed'}.`,
              )
            }
            onPriority={(job, priority) =>
              act(
                (client) => client.setPriority(job.id, priority),
                () => `Batch log #${job.id} now has priority ${priority}.`,
              )
            }
          />
          <AlertsPanel api={api} guarded={guarded} onNotice={setNotice} />
        </>
      )}
    </div>
  );
}
