import { PROVIDERS } from '@batchline/domain';
import { ApiError, commandLineActionDeps, commandLineContext } from '@batchline/monitor';
import { API_KEY_VARIABLE } from '@batchline/providers';
import { type CommandContext, providerFor, withDatabase } from './context.ts';
import { CommandError, UsageError } from './errors.ts';

type ActionDeps = ReturnType<typeof commandLineActionDeps>;

/**
 * Runs an admin action as the admin API runs it (same checks, same audit record, actor `cli:<os user>`), with the
 * providers whose API key is set. The API's refusals become one-line errors: a bad argument exits 2, the rest 1.
 */
export async function runAction<T>(
  context: CommandContext,
  command: string,
  action: (deps: ActionDeps, request: ReturnType<typeof commandLineContext>) => Promise<T>,
): Promise<T> {
  return withDatabase(context, async (pool) => {
    const providers = Object.fromEntries(
      PROVIDERS.filter((name) => context.config[API_KEY_VARIABLE[name] as keyof typeof context.config]).map(
        (name) => [name, providerFor(context, name)],
      ),
    );
    const deps = commandLineActionDeps({
      pool,
      log: context.log,
      providers,
      firstPollDelayMs: context.config.POLL_SCHEDULE[0]!,
      jobTypes: context.jobTypes,
    });
    try {
      return await action(deps, commandLineContext(command));
    } catch (error) {
      throw asCommandError(error);
    }
  });
}

export function asCommandError(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  const message = `${error.message} (${error.code})`;
  return error.status === 400 ? new UsageError(message) : new CommandError(message);
}
