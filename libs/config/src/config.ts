import { z } from 'zod';
import { parseDuration } from './duration.ts';

/** A configuration error: names the variable, what was wrong, and how to fix it. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly variable: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${variable}: ${problem}. ${fix}`);
    this.name = 'ConfigError';
  }
}

const DURATION_FIX = 'Use a duration such as 500ms, 30s, 5m, 1h or 2d.';

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${text}" is not a positive duration`,
      params: { fix: DURATION_FIX },
    });
    return z.NEVER;
  }
  return ms;
});

const durationList = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((part) => part.trim());
  const values = parts.map(parseDuration);
  const bad = parts.find((_, i) => values[i] === null || (values[i] ?? 0) <= 0);
  if (bad !== undefined || parts.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `"${bad ?? text}" is not a positive duration`,
      params: { fix: 'Use comma-separated durations such as 1m,2m,5m (the last one repeats).' },
    });
    return z.NEVER;
  }
  return values as number[];
});

const commaList = z.string().transform((text) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0),
);

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'is not a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { message: `is not a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL` },
  );

/**
 * Every variable of contract §2 plus batchline's own tuning knobs, with defaults. Values stay strings in the
 * environment; the schema turns them into typed settings.
 */
const EnvSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).optional(),
  NATS_URL: commaList.default(['nats://127.0.0.1:4222']),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: url(['http:', 'https:']).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  ANTHROPIC_BASE_URL: url(['http:', 'https:']).optional(),
  SLACK_WEBHOOK_URL: url(['http:', 'https:']).optional(),
  POLL_SCHEDULE: durationList.default([60_000, 120_000, 300_000]),
  POLL_CHUNK: integer(1, 1000).default(10),
  BATCH_MAX_AGE: duration.default(26 * 3_600_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MONITOR_PORT: integer(0, 65535).default(8080),
  ADMIN_TOKENS: commaList.default([]),
  HEALTH_PORT: integer(0, 65535).optional(),
  // batchline's own settings (documented in the README)
  BATCHLINE_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]*$/, { message: 'may hold only lowercase letters and digits' })
    .default(''),
  BATCHLINE_MODEL: z.string().min(1).default('gpt-4o-mini'),
  RESULTS_CHUNK_RECORDS: integer(1, 10_000).default(1000),
  PERSISTER_CONCURRENCY: integer(1, 64).default(4),
  FETCHER_CONCURRENCY: integer(1, 16).default(2),
  POLL_TICK: duration.default(1000),
  POLL_LEASE: duration.default(60_000),
  STREAM_MAX_AGE: duration.default(14 * 86_400_000),
});

export type Config = z.infer<typeof EnvSchema>;
export type ConfigVariable = keyof Config;

const FIXES: Partial<Record<ConfigVariable, string>> = {
  DATABASE_URL: 'Set it to a Postgres URL such as postgres://user:password@127.0.0.1:5432/batchline.',
  NATS_URL: 'Set it to one or more NATS URLs separated by commas, such as nats://127.0.0.1:4222.',
  OPENAI_API_KEY: 'Set it to an OpenAI API key (with the emulator, any non-empty value).',
  SLACK_WEBHOOK_URL:
    'Set it to the incoming-webhook URL Slack gave you, or unset it to log messages instead.',
  POLL_CHUNK: 'Set it to how many batches one poller checks at a time, such as 10.',
  LOG_LEVEL: 'Use one of fatal, error, warn, info, debug, trace, silent.',
  MONITOR_PORT: 'Use a TCP port number between 0 and 65535.',
  HEALTH_PORT: 'Use a TCP port number between 0 and 65535 (0 picks a free one).',
  BATCHLINE_NAMESPACE: 'Use a short lowercase prefix such as staging, or leave it empty.',
};

/**
 * Validates the environment once at start. The first problem found becomes a ConfigError that names the variable
 * and the fix. `require` lists variables this command cannot run without.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { require?: readonly ConfigVariable[] } = {},
): Config {
  // Empty strings mean "unset", as in most twelve-factor setups.
  const present = Object.fromEntries(
    Object.keys(EnvSchema.shape)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0]) as ConfigVariable;
    const fix = (issue as { params?: { fix?: string } }).params?.fix ?? FIXES[variable] ?? 'See the README.';
    // The value itself is never echoed for secrets.
    throw new ConfigError(variable, issue.message.replace(/^Invalid input: /, ''), fix);
  }
  for (const variable of options.require ?? []) {
    if (parsed.data[variable] === undefined) {
      throw new ConfigError(variable, 'is not set', FIXES[variable] ?? 'See the README.');
    }
  }
  return parsed.data;
}

/** The values that must never be printed, for the logger's redaction. */
export const secretValues = (config: Config): string[] =>
  [
    config.OPENAI_API_KEY,
    config.ANTHROPIC_API_KEY,
    config.SLACK_WEBHOOK_URL,
    config.DATABASE_URL,
    ...config.ADMIN_TOKENS,
  ].filter((value): value is string => typeof value === 'string');
