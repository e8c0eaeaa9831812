import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

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
