import { PROVIDERS, type ProviderName } from '@batchline/domain';
import {
  cancelBatch,
  type PollingScope,
  parseBatchLogId,
  parsePriorityText,
  setPolling,
  setPriority,
} from '@batchline/monitor';
import { asCommandError, runAction } from '../admin-action.ts';
import { commandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';

/** A batch log id argument, checked as the API checks `:id`. */
function batchLogIdOf(text: string | undefined, usage: string): number {
  if (text === undefined) throw new UsageError(`usage: ${usage}`);
  try {
    return parseBatchLogId({ id: text });
  } catch (error) {
    throw asCommandError(error);
  }
}

export const cancelCommand: Command = {
  name: 'cancel',
  usage: 'batchline cancel BATCH_LOG_ID',
  summary: 'cancels a pending batch at its provider (as POST /api/admin/batch-monitoring/:id/cancel)',
  details: [
    'Prints the batch log id, the provider batch id and the status the provider answered. The poller then sees the',
    'batch cancelled; whatever output it has still lands before it is marked failed (9). Audited as cli:<os user>.',
    'Needs DATABASE_URL and the API key of the batch’s provider.',
  ],
  options: {},
  async run({ positionals }) {
    if (positionals.length > 1) throw new UsageError('cancel takes one batch log id');
    const id = batchLogIdOf(positionals[0], this.usage);
    const context = commandContext(true);
    const result = await runAction(context, 'cancel', (deps, request) => cancelBatch(deps, request, id));
    console.log(
      `batch log ${result.id}\tprovider batch ${result.batchId}\tcancel requested (provider status ${result.providerStatus})`,
    );
  },
};

/** `pause` and `resume`: every status check, a provider's pending batches, or one pending batch. */
function pollingCommand(paused: boolean): Command {
  const verb = paused ? 'pause' : 'resume';
  const past = paused ? 'paused' : 'resumed';
  return {
    name: verb,
    usage: `batchline ${verb} [BATCH_LOG_ID | --provider openai|anthropic]`,
    summary: `${verb}s status checks: of every batch, of a provider's pending batches, or of one pending batch`,
    details: [
      `Without arguments: every status check (as POST /api/admin/batch-monitoring/polling/${verb}).`,
      `BATCH_LOG_ID: that pending batch's checks (as POST /api/admin/batch-monitoring/:id/${verb}).`,
      `--provider P: the checks of P's batches pending now, as POST …/polling/${verb} {"provider": P} (batches submitted later are not ${past}).`,
      `Audited as cli:<os user>. Prints one line saying what was ${past}.`,
    ],
    options: { provider: { type: 'string' } },
    async run({ positionals, values }) {
      if (positionals.length > 1) throw new UsageError(`${verb} takes at most one batch log id`);
      const provider = values.provider as string | undefined;
      if (provider !== undefined && positionals.length > 0)
        throw new UsageError(`${verb} takes a batch log id or --provider, not both`);
      if (provider !== undefined && !PROVIDERS.includes(provider as ProviderName))
        throw new UsageError(`unknown provider "${provider}" (use ${PROVIDERS.join(' or ')})`);
      const scope: PollingScope =
        provider !== undefined
          ? { provider: provider as ProviderName }
          : positionals[0] !== undefined
            ? { batchLogId: batchLogIdOf(positionals[0], this.usage) }
            : 'all';
      const context = commandContext(true);
      const batches = await runAction(context, verb, (deps, request) =>
        setPolling(deps, request, paused, scope),
      );
      if (scope === 'all') console.log(`status checks ${past} for every batch`);
      else if ('provider' in scope)
        console.log(`status checks ${past} for ${batches} pending ${scope.provider} batch(es)`);
      else console.log(`status checks ${past} for batch log ${scope.batchLogId}`);
    },
  };
}

export const pauseCommand = pollingCommand(true);
export const resumeCommand = pollingCommand(false);

export const priorityCommand: Command = {
  name: 'priority',
  usage: 'batchline priority BATCH_LOG_ID N',
  summary:
    'sets which pending batches the poller checks first (as POST /api/admin/batch-monitoring/:id/priority)',
  details: ['N: a whole number from -100 to 100, higher first (default 0). Audited as cli:<os user>.'],
  options: {},
  async run({ positionals }) {
    if (positionals.length !== 2) throw new UsageError(`usage: ${this.usage}`);
    const id = batchLogIdOf(positionals[0], this.usage);
    let priority: number;
    try {
      priority = parsePriorityText(positionals[1]!);
    } catch (error) {
      throw asCommandError(error);
    }
    const context = commandContext(true);
    await runAction(context, 'priority', (deps, request) => setPriority(deps, request, id, priority));
    console.log(`batch log ${id}\tpriority ${priority}`);
  },
};
