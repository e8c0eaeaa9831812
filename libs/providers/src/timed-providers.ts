import type { ProviderName } from '@batchline/domain';
import type { BatchProvider } from './provider.ts';
import { ProviderError } from './provider-error.ts';
import type { ProviderSet } from './provider-set.ts';

/** The provider calls that are timed (the ones that go over the network). */
const TIMED_OPERATIONS = [
  'uploadAndCreateBatch',
  'getBatch',
  'cancelBatch',
  'openFile',
  'deleteFile',
  'listBatches',
] as const;
export type TimedOperation = (typeof TIMED_OPERATIONS)[number];

/** One finished provider call: how long it took and how it ended (`ok`, or the `ProviderError` kind). */
export interface ProviderCall {
  provider: ProviderName;
  operation: TimedOperation;
  seconds: number;
  outcome: string;
}

const outcomeOf = (error: unknown) => (error instanceof ProviderError ? error.kind : 'unexpected');

function timed(provider: BatchProvider, observe: (call: ProviderCall) => void): BatchProvider {
  const wrapped: BatchProvider = Object.create(provider);
  for (const operation of TIMED_OPERATIONS) {
    const call = provider[operation] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(wrapped, operation, {
      value: async (...args: unknown[]) => {
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        try {
          const result = await call.apply(provider, args);
          observe({ provider: provider.name, operation, seconds: seconds(), outcome: 'ok' });
          return result;
        } catch (error) {
          observe({ provider: provider.name, operation, seconds: seconds(), outcome: outcomeOf(error) });
          throw error;
        }
      },
    });
  }
  return wrapped;
}

/**
 * The same providers, each network call reported to `observe` when it ends (for the latency histogram). For
 * `openFile` the time is until the stream opens (the first byte), not until it is read.
 */
export function timedProviders(providers: ProviderSet, observe: (call: ProviderCall) => void): ProviderSet {
  const made = new Map<ProviderName, BatchProvider>();
  return {
    get(name) {
      let provider = made.get(name);
      if (!provider) {
        provider = timed(providers.get(name), observe);
        made.set(name, provider);
      }
      return provider;
    },
  };
}
