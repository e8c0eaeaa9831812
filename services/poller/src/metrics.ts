import { Counter, type Registry } from '@batchline/metrics';

/** What the poller's checks count, in the service's registry. */
export interface PollerMetrics {
  /** Provider status changes recorded (terminal ones included), by provider and new provider status. */
  statusTransitions: Counter<'provider' | 'to'>;
  /** Failed status checks, by provider and error kind (a `ProviderError` kind, or `unexpected`). */
  providerErrors: Counter<'provider' | 'kind'>;
}

export function createPollerMetrics(registry: Registry): PollerMetrics {
  return {
    statusTransitions: new Counter({
      name: 'batchline_poller_status_transitions_total',
      help: 'Provider status changes recorded by the poller, by provider and new provider status',
      labelNames: ['provider', 'to'],
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'batchline_poller_provider_errors_total',
      help: 'Failed status checks, by provider and error kind',
      labelNames: ['provider', 'kind'],
      registers: [registry],
    }),
  };
}
