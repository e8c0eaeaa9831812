import { randomUUID } from 'node:crypto';
import { countBatchesByState, type Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import type { Logger } from '@batchline/logging';
import type { BatchProvider } from '@batchline/providers';
import type { RetryResult } from '../api-schema.ts';
import { createMonitorMetrics } from '../metrics.ts';
import type { RequestContext } from '../request-context.ts';
import { retryFailedRequests } from './retry.ts';

/** Who the audit log names for an action taken with the `batchline` command. */
export const CLI_ACTOR = 'cli';

/**
 * The manual retry as `batchline retry` runs it: the admin API's own code path (claim, audit records, the job's
 * next round), audited with the actor `cli` instead of a token's label. Throws the API's `ApiError` when it
 * cannot retry, whose message says why.
 */
export async function retryFromCommandLine(
  options: {
    pool: Pool;
    log: Logger;
    providers: Partial<Record<ProviderName, BatchProvider>>;
    firstPollDelayMs: number;
  },
  batchLogId: number,
  codes: readonly string[] | null,
): Promise<RetryResult> {
  const { pool } = options;
  const context: RequestContext = {
    principal: { actor: CLI_ACTOR, role: 'operator' },
    requestId: randomUUID(),
    clientIp: 'local',
    method: 'CLI',
    route: 'batchline retry',
    audited: false,
  };
  const metrics = createMonitorMetrics(() => countBatchesByState(pool));
  return retryFailedRequests({ ...options, metrics }, context, batchLogId, codes);
}
