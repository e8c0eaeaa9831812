import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import type { Pool } from '@batchline/db';
import type { ProviderName } from '@batchline/domain';
import type { JobTypeSet } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import type { BatchProvider } from '@batchline/providers';
import { createMonitorMetrics } from '../metrics.ts';
import type { RequestContext } from '../request-context.ts';
import type { ActionDeps } from './action-deps.ts';

/**
 * The context of an action run by `batchline <command>` on this machine: an operator (whoever can run the CLI has
 * the database) named `cli:<os user>` in the audit log, the command in place of a route.
 */
export function commandLineContext(command: string, user: string = userInfo().username): RequestContext {
  return {
    principal: { actor: `cli:${user}`, role: 'operator' },
    requestId: randomUUID(),
    clientIp: null,
    method: 'CLI',
    route: `batchline ${command}`,
    audited: false,
  };
}

/** What the actions need outside the monitor: its metrics are counted but never scraped (the process is short). */
export function commandLineActionDeps(deps: {
  pool: Pool;
  log: Logger;
  providers: Partial<Record<ProviderName, BatchProvider>>;
  firstPollDelayMs: number;
  jobTypes: JobTypeSet;
}): ActionDeps {
  return { ...deps, metrics: createMonitorMetrics(async () => ({})) };
}
