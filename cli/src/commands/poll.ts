import { hostname } from 'node:os';
import type { Pool } from '@batchline/db';
import { PROVIDERS, type ProviderName } from '@batchline/domain';
import {
  type CheckDeps,
  type CheckResult,
  checkBatchNow,
  checkDepsFromConfig,
  checkPendingBatchesNow,
  pollerSettings,
  resumeProvider,
} from '@batchline/poller';
import { configuredProviders } from '@batchline/providers';
import { type CommandContext, commandContext, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import type { Command } from './command.ts';

/** Checks one batch now, as a poller would (under a lease, so it never races a running poller). */
async function pollOne(context: PollContext, deps: CheckDeps, id: number): Promise<void> {
  const checked = await checkBatchNow(deps, id, { owner: owner(), leaseMs: context.config.POLL_LEASE });
  switch (checked.outcome) {
    case 'unknown':
      throw new CommandError(`batch log ${id} does not exist`);
    case 'final':
      console.log(`batch log ${id} is final (${checked.statusName}): nothing to check`);
      return;
    // Final at the provider already: what it waits for is its results, so those were driven again.
    case 'redriven':
      console.log(
        `batch log ${id} is ${checked.providerStatus} at the provider; its results are being fetched again (event ${checked.msgId})`,
      );
      return;
    case 'awaiting_results':
      console.log(`batch log ${id} is ${checked.providerStatus} at the provider and waits for its results`);
      return;
    case 'leased_elsewhere':
      throw new CommandError(`batch log ${id} is being checked by a poller right now; try again shortly`);
    case 'checked':
      console.log(describe(id, checked.result, checked.providerStatus, checked.lastPollError));
  }
}

/** `poll` checks as a poller does, so it reads the poller's settings. */
type PollContext = CommandContext<typeof pollerSettings>;

const owner = () => `cli-${hostname()}-${process.pid}`;

function describe(
  id: number,
  result: CheckResult,
  providerStatus: string | null,
  error: string | null,
): string {
  const status = `provider status ${providerStatus ?? 'unknown'}`;
  switch (result.outcome) {
    case 'terminal':
      return `batch log ${id}: ${status} (final at the provider; its results are fetched next)`;
    case 'transition':
      return `batch log ${id}: ${status} (changed)`;
    case 'unchanged':
      return `batch log ${id}: ${status} (unchanged)`;
    case 'lease_lost':
      return `batch log ${id}: a poller took the batch over while it was checked`;
    default:
      return `batch log ${id}: the check failed (${result.errorKind}): ${error ?? 'see the log'}`;
  }
}

/** Checks every pending batch now, POLL_CHUNK at a time, under leases like the pollers'. */
async function pollAll(context: PollContext, deps: CheckDeps): Promise<void> {
  const { checked, tally } = await checkPendingBatchesNow(deps, {
    owner: owner(),
    chunk: context.config.POLL_CHUNK,
    leaseMs: context.config.POLL_LEASE,
  });
  if (checked === 0) {
    console.log('no pending batch to check (or every provider with pending batches is paused)');
    return;
  }
  const summary = [...tally].map(([outcome, count]) => `${count} ${outcome}`).join(', ');
  console.log(`checked ${checked} batch(es): ${summary}`);
}

/** Lifts a provider's pause (for every poller) before the checks; a cause that persists pauses it again. */
async function resumePausedProvider(pool: Pool, provider: ProviderName): Promise<void> {
  const ended = await resumeProvider(pool, provider);
  console.log(
    ended
      ? `${provider}: pause ended (${ended.kind.replace('_', ' ')} since ${ended.since.toISOString()}, ${ended.probes} probe(s)): ${ended.reason}`
      : `${provider}: was not paused`,
  );
}

export const pollCommand: Command = {
  name: 'poll',
  usage: 'batchline poll [BATCH_LOG_ID] [--resume-provider openai|anthropic]',
  summary: 'checks a pending batch (or every pending batch) at its provider now, instead of on its schedule',
  details: [
    'The check runs under a lease, as a running poller would make it, and records what the provider says;',
    'status changes are announced by the pollers’ outbox relay. A batch already final at the provider but',
    'whose results have not landed has its final event published again instead.',
    '--resume-provider ends that provider’s pause (rate limit, refused key, quota, systemic 404) for every poller',
    'first, instead of waiting for its next probe; if the cause persists, the first check pauses it again.',
  ],
  options: { 'resume-provider': { type: 'string' } },
  async run({ positionals, values }) {
    if (positionals.length > 1) throw new UsageError('poll takes at most one batch log id');
    const id = positionals[0] === undefined ? null : Number(positionals[0]);
    if (id !== null && (!Number.isSafeInteger(id) || id <= 0))
      throw new UsageError(`not a batch log id: ${positionals[0]}`);
    const resume = values['resume-provider'];
    if (resume !== undefined && !PROVIDERS.includes(resume as ProviderName))
      throw new UsageError(`--resume-provider takes ${PROVIDERS.join(' or ')}, not ${String(resume)}`);
    const context = commandContext(true, pollerSettings);
    await withDatabase(context, async (pool) => {
      if (resume !== undefined) await resumePausedProvider(pool, resume as ProviderName);
      const deps = checkDepsFromConfig(
        context.config,
        pool,
        context.log,
        configuredProviders(context.config),
      );
      if (id === null) await pollAll(context, deps);
      else await pollOne(context, deps, id);
    });
  },
};
