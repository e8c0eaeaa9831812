import { type Config, loadConfig, secretValues } from '@batchline/config';
import { createPool, type Pool } from '@batchline/db';
import { createLogger, type Logger, registerSecrets } from '@batchline/logging';
import { type BatchProvider, createOpenAIProvider } from '@batchline/providers';
import { CommandError } from './errors.ts';

/** Config, a logger on stderr (stdout is for the command's answer) and lazily opened resources. */
export interface CommandContext {
  config: Config;
  log: Logger;
}

export function commandContext(requireDatabase: boolean): CommandContext {
  const config = loadConfig(process.env, { require: requireDatabase ? ['DATABASE_URL'] : [] });
  registerSecrets(secretValues(config));
  const log = createLogger({
    service: 'cli',
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    destination: process.stderr,
  });
  return { config, log };
}

/** Opens a pool, checks that Postgres answers, runs `fn`, closes the pool. */
export async function withDatabase<T>(context: CommandContext, fn: (pool: Pool) => Promise<T>): Promise<T> {
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

export function providerFor(context: CommandContext, name: string): BatchProvider {
  if (name !== 'openai') throw new CommandError(`provider ${name} is not supported yet (use openai)`);
  return createOpenAIProvider({
    apiKey: context.config.OPENAI_API_KEY,
    baseURL: context.config.OPENAI_BASE_URL,
  });
}
