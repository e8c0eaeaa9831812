import { hostname } from 'node:os';
import {
  getBatchLog,
  leaseBatch,
  leaseDueBatches,
  type Pool,
  redriveBatch,
  resumeProvider,
} from '@batchline/db';
import { PROVIDERS, type ProviderName } from '@batchline/domain';
import { type CheckDeps, type CheckResult, checkBatch, checkDepsFromConfig } from '@batchline/poller';
import { configuredProviders } from '@batchline/providers';
import { type CommandContext, commandContext, withDatabase } from '../context.ts';
import { CommandError, UsageError } from '../errors.ts';
import type { Command } from './command.ts';

const STATUS_NAMES: Record<number, string> = { 1: 'pending', 2: 'completed', 9: 'failed' };
/** The most batches one `poll` without an id checks, so that a huge backlog cannot keep it running for ever. */
const MAX_BATCHES = 100_000;

/** Checks one batch now, as a poller would (under a lease, so it never races a running poller). */
async function pollOne(context: CommandContext, pool: Pool, deps: CheckDeps, id: number): Promise<void> {
  const batch = await getBatchLog(pool, id);
  if (!batch) throw new CommandError(`batch log ${id} does not exist`);
  if (batch.status !== 1) {
    console.log(`batch log ${id} is final (${STATUS_NAMES[batch.status]}): nothing to check`);
    return;
  }
  if (batch.providerTerminalAt !== null) {
    // Its provider status is final already: what it waits for is its results, so drive those again.
    const redriven = await redriveBatch(pool, id);
    console.log(
      redriven
        ? `batch log ${id} is ${batch.providerStatus} at the provider; its results are being fetched again (event ${redriven.msgId})`
        : `batch log ${id} is ${batch.providerStatus} at the provider and waits for its results`,
    );
    return;
  }
  const leased = await leaseBatch(pool, id, { owner: owner(), leaseMs: context.config.POLL_LEASE });
  if (!leased)
    throw new CommandError(`batch log ${id} is being checked by a poller right now; try again shortly`);
  const result = await checkBatch(deps, leased);
  const after = await getBatchLog(pool, id);
  console.log(describe(id, result, after?.providerStatus ?? null, after?.lastPollError ?? null));
}

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
async function pollAll(context: CommandContext, pool: Pool, deps: CheckDeps): Promise<void> {
  await pool.query(
    'UPDATE batch_jobs_vp_logs SET next_poll_at = now() WHERE status = 1 AND provider_terminal_at IS NULL AND next_poll_at > now()',
  );
  const counts = new Map<string, number>();
  let checked = 0;
  while (checked < MAX_BATCHES) {
    const leased = await leaseDueBatches(pool, {
      owner: owner(),
      limit: context.config.POLL_CHUNK,
      leaseMs: context.config.POLL_LEASE,
    });
    if (leased.length === 0) break;
    for (const result of await Promise.all(leased.map((batch) => checkBatch(deps, batch)))) {
      const key = result.errorKind ? `${result.outcome} (${result.errorKind})` : result.outcome;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    checked += leased.length;
  }
  if (checked === 0) {
    console.log('no pending batch to check (or every provider with pending batches is paused)');
    return;
  }
  const summary = [...counts].map(([outcome, count]) => `${count} ${outcome}`).join(', ');
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
    const context = commandContext(true);
    await withDatabase(context, async (pool) => {
      if (resume !== undefined) await resumePausedProvider(pool, resume as ProviderName);
      const deps = checkDepsFromConfig(
        context.config,
        pool,
        context.log,
        configuredProviders(context.config),
      );
      if (id === null) await pollAll(context, pool, deps);
      else await pollOne(context, pool, deps, id);
    });
  },
};
