import {
  type DatabaseSettings,
  type JobTypeSettings,
  type LogSettings,
  loadSettings,
  type Settings,
  type SettingsShape,
  secretValues,
} from '@batchline/config';
import { createPool, type Pool } from '@batchline/db';
import { type JobType, JobTypeError, type JobTypeSet, loadJobTypes } from '@batchline/job-types';
import { createLogger, type Logger, registerSecrets } from '@batchline/logging';
import { type BatchProvider, createAnthropicProvider, createOpenAIProvider } from '@batchline/providers';
import { CommandError, UsageError } from './errors.ts';
import { cliSettings } from './settings.ts';

/** What every command's settings include. */
type BaseShape = typeof LogSettings & typeof DatabaseSettings & typeof JobTypeSettings;

/** Settings, the job types in force, a logger on stderr (stdout is for the command's answer). */
export interface CommandContext<S extends SettingsShape = typeof cliSettings> {
  config: Settings<S>;
  /** Loaded from BATCHLINE_JOB_TYPES at start: a bad declaration stops the command (contract §8). */
  jobTypes: JobTypeSet;
  log: Logger;
}

/** The command's settings (`cliSettings` unless it reads a service's), validated, the job types and a logger. */
export function commandContext(requireDatabase: boolean): CommandContext;
export function commandContext<S extends BaseShape>(requireDatabase: boolean, settings: S): CommandContext<S>;
export function commandContext(
  requireDatabase: boolean,
  settings: BaseShape = cliSettings,
): CommandContext<BaseShape> {
  const config = loadSettings(settings, process.env, { require: requireDatabase ? ['DATABASE_URL'] : [] });
  registerSecrets(secretValues(settings, config));
  const jobTypes = loadJobTypes(config.BATCHLINE_JOB_TYPES);
  const log = createLogger({
    service: 'cli',
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    destination: process.stderr,
  });
  return { config, jobTypes, log };
}

/** Opens a pool, checks that Postgres answers, runs `fn`, closes the pool. */
export async function withDatabase<T>(
  context: CommandContext<BaseShape>,
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

/**
 * The job type `--job-type` names (the default one when it names none), checked against the provider: a name that
 * is not declared, or an embeddings job type for Anthropic (which has no embeddings), is a usage error.
 */
export function jobTypeFor(context: CommandContext, name: string | undefined, providerName: string): JobType {
  let jobType: JobType;
  try {
    jobType = name === undefined ? context.jobTypes.default : context.jobTypes.named(name);
  } catch (error) {
    if (error instanceof JobTypeError) throw new UsageError(error.message);
    throw error;
  }
  if (jobType.endpoint === '/v1/embeddings' && providerName === 'anthropic') {
    throw new UsageError(
      `job type ${jobType.name} asks for embeddings (/v1/embeddings), which Anthropic does not offer: use --provider openai`,
    );
  }
  return jobType;
}
