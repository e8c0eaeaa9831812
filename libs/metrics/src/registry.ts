import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

// Services define their own metrics with these, in the registry the runtime gives them.
export { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * A service's own registry (so several services in one process never clash) with prom-client's default process
 * metrics; every sample carries `service`.
 */
export function createServiceRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'batchline_' });
  return registry;
}

/** `batchline_batches{state}`: batches by state, read through `batchCounts` at each scrape. */
export function registerBatchesGauge(
  registry: Registry,
  batchCounts: () => Promise<Record<string, number>>,
): void {
  new Gauge({
    name: 'batchline_batches',
    help: 'Batches by state (pending, processing, completed, failed)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await batchCounts();
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
}

/** Labels of one provider call: provider, operation (`getBatch`, `openFile`, ...) and outcome (`ok` or an error kind). */
export interface ProviderCallLabels {
  provider: string;
  operation: string;
  outcome: string;
}

/**
 * `batchline_provider_call_duration_seconds{provider,operation,outcome}`, the latency of provider calls, in
 * every service that calls a provider; returns the function that records one call.
 */
export function registerProviderCallHistogram(
  registry: Registry,
): (call: ProviderCallLabels & { seconds: number }) => void {
  const histogram = new Histogram({
    name: 'batchline_provider_call_duration_seconds',
    help: 'Latency of provider API calls, by provider, operation and outcome (ok or the error kind)',
    labelNames: ['provider', 'operation', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  return ({ provider, operation, outcome, seconds }) =>
    histogram.observe({ provider, operation, outcome }, seconds);
}
