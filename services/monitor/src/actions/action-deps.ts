import type { Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import type { JobTypeSet } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import { type BatchProvider, ProviderError } from '@batchline/providers';
import { ApiError } from '../api-error.ts';
import type { MonitorMetrics } from '../metrics.ts';

export interface ActionDeps {
  pool: Pool;
  log: Logger;
  metrics: MonitorMetrics;
  /** The provider adapters the monitor can act through, by provider name. */
  providers: Partial<Record<ProviderName, BatchProvider>>;
  /** When the poller first checks a batch the monitor submitted (the first POLL_SCHEDULE step). */
  firstPollDelayMs: number;
  /** The job types in force: a retry rebuilds a submitted job's request lines with its job type. */
  jobTypes: JobTypeSet;
}

export const batchNotFound = (id: number): ApiError =>
  new ApiError(404, 'batch_not_found', `batch log ${id} does not exist`, 'id');

/** The adapter of the batch's provider; 409 when the monitor has none (its API key is not set). */
export function providerOf(deps: ActionDeps, provider: string): BatchProvider {
  const adapter = deps.providers[provider as ProviderName];
  if (!adapter) {
    throw new ApiError(
      409,
      'provider_not_configured',
      `the monitor has no ${provider} provider configured (its API key is not set), so it cannot act on this batch`,
    );
  }
  return adapter;
}

/** A failure as an answer: for the provider, what kind of failure, never the provider's own text. */
export function failureAnswer(deps: ActionDeps, error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof ProviderError)) {
    deps.log.error({ err: error }, 'admin action failed');
    return new ApiError(500, 'internal_error', 'the action failed; the monitor log says why');
  }
  deps.metrics.providerErrors.inc({ kind: error.kind, operation: error.operation });
  const what = `the provider's ${error.operation} failed (${error.kind}${error.status ? `, HTTP ${error.status}` : ''})`;
  if (error.kind === 'bad_request' || error.kind === 'not_found')
    return new ApiError(409, 'provider_refused', what);
  return new ApiError(502, 'provider_unavailable', what);
}
