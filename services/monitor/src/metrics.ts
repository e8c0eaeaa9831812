import { registerBatchesGauge } from '@batchline/metrics';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The monitor's Prometheus metrics, in a registry of its own (so several apps in one process never clash). */
export interface MonitorMetrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'method' | 'status'>;
  httpDuration: Histogram<'route' | 'method'>;
  actions: Counter<'action' | 'outcome'>;
  alertsRaised: Counter<'condition'>;
  providerErrors: Counter<'kind' | 'operation'>;
  auditFailures: Counter;
}

/** `batchCounts` is read at each scrape: batches by state, from the database. */
export function createMonitorMetrics(batchCounts: () => Promise<Record<string, number>>): MonitorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'batchline_monitor_' });
  registerBatchesGauge(registry, batchCounts);
  return {
    registry,
    httpRequests: new Counter({
      name: 'batchline_monitor_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'batchline_monitor_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route pattern and method',
      labelNames: ['route', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    actions: new Counter({
      name: 'batchline_monitor_actions_total',
      help: 'Admin actions (retry, cancel, pause, resume, priority, alert settings) by outcome',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    }),
    alertsRaised: new Counter({
      name: 'batchline_monitor_alerts_raised_total',
      help: 'Alerts raised, by condition',
      labelNames: ['condition'],
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'batchline_provider_errors_total',
      help: 'Failed provider calls made by the monitor, by error kind and operation',
      labelNames: ['kind', 'operation'],
      registers: [registry],
    }),
    auditFailures: new Counter({
      name: 'batchline_monitor_audit_failures_total',
      help: 'Audit records that could not be written (the request was refused)',
      registers: [registry],
    }),
  };
}
