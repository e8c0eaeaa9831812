import type { ProviderName } from './batch-status.ts';

/** The most one provider batch may hold: requests, and bytes of its request file (or request body). */
export interface BatchLimits {
  maxRequests: number;
  maxBytes: number;
}

/** OpenAI: 50,000 requests or 200 MB an input file. Anthropic: 100,000 requests or 256 MB a batch. */
export const PROVIDER_BATCH_LIMITS: Readonly<Record<ProviderName, BatchLimits>> = {
  openai: { maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 },
  anthropic: { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 },
};
