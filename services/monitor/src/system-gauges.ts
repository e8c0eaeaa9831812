import type { Bus } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import { PROVIDERS } from '@batchline/domain';
import { Gauge, type Registry } from '@batchline/metrics';
import { activeProviderPauses, oldestPendingAges } from './store/system-state.ts';

/**
 * The state of the whole installation, read at each scrape from NATS and Postgres, for the chart's alert rules
 * and dashboard (deploy/helm/batchline): consumer backlogs, dead letters kept, provider pauses, the oldest
 * pending batches. The monitor reports them (on its health port); every replica reports the same values, so
 * queries take `max`.
 */
export function registerSystemGauges(registry: Registry, { pool, bus }: { pool: Pool; bus: Bus }): void {
  // One reading of the bus per scrape serves both consumer gauges and the dead-letter gauge.
  let backlog: ReturnType<Bus['backlog']> | null = null;
  const readBacklog = () => {
    backlog ??= bus.backlog().finally(() => setTimeout(() => (backlog = null), 1_000).unref());
    return backlog;
  };
  new Gauge({
    name: 'batchline_consumer_pending_messages',
    help: 'Messages stored in a stream and not yet delivered to its durable consumer',
    labelNames: ['stream', 'consumer'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of (await readBacklog()).consumers)
        this.set({ stream: c.stream, consumer: c.consumer }, c.pending);
    },
  });
  new Gauge({
    name: 'batchline_consumer_ack_pending_messages',
    help: 'Messages delivered to a durable consumer and not yet acknowledged',
    labelNames: ['stream', 'consumer'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const c of (await readBacklog()).consumers) {
        this.set({ stream: c.stream, consumer: c.consumer }, c.ackPending);
      }
    },
  });
  new Gauge({
    name: 'batchline_dead_letters',
    help: 'Dead letters kept in the DLQ stream (batchline dlq list shows them)',
    registers: [registry],
    async collect() {
      this.set((await readBacklog()).deadLetters);
    },
  });
  new Gauge({
    name: 'batchline_provider_paused',
    help: "1 while the poller's checks of a provider are paused (rate_limited, quota, auth, not_found), else 0",
    labelNames: ['provider', 'kind'],
    registers: [registry],
    async collect() {
      this.reset();
      const pauses = await activeProviderPauses(pool);
      for (const provider of PROVIDERS) {
        const pause = pauses.find((p) => p.provider === provider);
        this.set({ provider, kind: pause?.kind ?? 'none' }, pause ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'batchline_oldest_pending_batch_age_seconds',
    help: 'Age of the oldest pending batch: at_provider since submission, landing since the provider ended it',
    labelNames: ['stage'],
    registers: [registry],
    async collect() {
      const ages = await oldestPendingAges(pool);
      this.set({ stage: 'at_provider' }, ages.atProvider);
      this.set({ stage: 'landing' }, ages.landing);
    },
  });
}
