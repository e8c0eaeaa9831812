import { redactSecretsIn } from '@batchline/logging';
import { ProviderError } from './provider-error.ts';

/** Timeouts every adapter uses unless told otherwise: status calls, downloads (per wait for bytes), uploads. */
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60_000;
export const DEFAULT_UPLOAD_TIMEOUT_MS = 10 * 60_000;

export interface SdkClient<C> {
  client: C;
  /** Runs one SDK call; whatever it throws leaves as a classified ProviderError. */
  call<T>(operation: string, run: () => Promise<T>): Promise<T>;
  classify(err: unknown, operation: string): ProviderError;
}

/**
 * Makes an official SDK's client — one that cannot be made (no API key) becomes a ProviderError of kind `auth` —
 * and the wrapper through which each of its calls has its errors classified once, with the key masked.
 */
export function sdkClient<C extends { apiKey: string | null }>(
  providerLabel: string,
  make: () => C,
  classifyError: (err: unknown, operation: string, apiKey: string | null) => ProviderError,
): SdkClient<C> {
  let client: C;
  try {
    client = make();
  } catch (err) {
    throw new ProviderError({
      kind: 'auth',
      operation: 'configure',
      message: `${providerLabel} client not configured: ${err instanceof Error ? redactSecretsIn(err.message) : 'unknown error'}`,
    });
  }
  const classify = (err: unknown, operation: string) => classifyError(err, operation, client.apiKey);
  return {
    client,
    classify,
    async call(operation, run) {
      try {
        return await run();
      } catch (err) {
        throw classify(err, operation);
      }
    },
  };
}
