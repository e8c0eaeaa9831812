import {
  type DatabaseSettings,
  type LogSettings,
  loadSettings,
  type Settings,
  type SettingsShape,
  secretValues,
} from '@batchline/config';
import { createPool, type Pool } from '@batchline/db';
import { createLogger, type Logger, registerSecrets } from '@batchline/logging';
import { type BatchProvider, createAnthropicProvider, createOpenAIProvider } from '@batchline/providers';
import { CommandError, UsageError } from './errors.ts';
import { cliSettings } from './settings.ts';

/** Settings, a logger on stderr (stdout is for the command's answer) and lazily opened resources. */
export interface CommandContext<S extends SettingsShape = typeof cliSettings> {
  config: Settings<S>;
  log: Logger;
}

/** The command's settings (`cliSettings` unless it reads a service's), validated, and a logger. */
export function commandContext(requireDatabase: boolean): CommandContext;
export function commandContext<S extends typeof LogSettings & typeof DatabaseSettings>(
  requireDatabase: boolean,
  settings: S,
): CommandContext<S>;
export function commandContext(
  requireDatabase: boolean,
  settings: typeof LogSettings & typeof DatabaseSettings = cliSettings,
): CommandContext<typeof LogSettings & typeof DatabaseSettings> {
  const config = loadSettings(settings, process.env, { require: requireDatabase ? ['DATABASE_URL'] : [] });
  registerSecrets(secretValues(settings, config));
  const log = createLogger({
    service: 'cli',
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    destination: process.stderr,
  });
  return { config, log };
}

/** Opens a pool, checks that Postgres answers, runs `fn`, closes the pool. */
export async function withDatabase<T>(
  context: CommandContext<typeof LogSettings & typeof DatabaseSettings>,
  fn: (pool: Pool) => Promise<T>,
): Promise<T> {
  const url = new URL(context.config.DATABASE_URL!);
  const pool = createPool({
    connectionString: context.config.DATABASE_URL!,
    log: context.log,
    applicationName: 'batchline-cli',
  });
  try {
    await pool.query('SELECT 1').catch((error: unknown) => {
      throw new CommandError(
        `cannot reach Postgres at ${url.hostname}:${url.port || 5432}${url.pathname}: ${(error as Error).message}`,
      );
    });
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** The provider a command talks to (`--provider`), configured from the environment as the services are. */
export function providerFor(context: CommandContext, name: string): BatchProvider {
  switch (name) {
    case 'openai':
      return createOpenAIProvider({
        apiKey: context.config.OPENAI_API_KEY,
        baseURL: context.config.OPENAI_BASE_URL,
      });
    case 'anthropic':
      return createAnthropicProvider({
        apiKey: context.config.ANTHROPIC_API_KEY,
        baseURL: context.config.ANTHROPIC_BASE_URL,
      });
    default:
      throw new UsageError(`unknown provider "${name}" (use openai or anthropic)`);
  }
}
