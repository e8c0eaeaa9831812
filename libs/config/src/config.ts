import { z } from 'zod';
import { parseDuration } from './duration.ts';
import { DEFAULT_MODEL_PRICES, type ModelPriceTable, parseModelPrices } from './model-prices.ts';

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

const modelPrices = z.string().transform((text, ctx): ModelPriceTable => {
  const result = parseModelPrices(text);
  if ('error' in result) {
    ctx.addIssue({ code: 'custom', message: result.error });
    return z.NEVER;
  }
  return result.prices;
});

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
  RESULTS_CHUNK_RECORDS: integer(1, 10_000).default(5000),
  PERSISTER_CONCURRENCY: integer(1, 64).default(4),
  FETCHER_CONCURRENCY: integer(1, 16).default(2),
  POLL_TICK: duration.default(1000),
  POLL_LEASE: duration.default(60_000),
  STREAM_MAX_AGE: duration.default(14 * 86_400_000),
  /** JetStream stream replicas: 1 on a single server, 3 on a production cluster. */
  STREAM_REPLICAS: integer(1, 5).default(1),
  // the monitor (services/monitor/README.md)
  /** Bearer tokens that may read the admin API but not act (retry, cancel, pause, priority, alert rules). */
  ADMIN_READONLY_TOKENS: commaList.default([]),
  /** Synchronous price per model, laid over the built-in table; cost figures use it. */
  MODEL_PRICES: modelPrices.default(DEFAULT_MODEL_PRICES),
  /** The provider's discount of batch over synchronous requests, in percent. */
  BATCH_DISCOUNT_PERCENT: integer(0, 100).default(50),
  /** How often the monitor evaluates its alert rules. */
  MONITOR_ALERT_INTERVAL: duration.default(60_000),
  // the notifier (README, "Slack")
  /** Webhook for critical alerts and operational errors; unset: they go to SLACK_WEBHOOK_URL like the rest. */
  SLACK_CRITICAL_WEBHOOK_URL: url(['http:', 'https:']).optional(),
  /** Longest one POST to Slack may take (the Slack SDK has no timeout by default). */
  SLACK_TIMEOUT: duration.default(10_000),
  /** Pauses of a webhook after consecutive 5xx answers or connection errors; the last repeats. */
  SLACK_RETRY_SCHEDULE: durationList.default([1_000, 2_000, 5_000, 15_000, 30_000]),
  /** More than this many final-status messages due within SLACK_DIGEST_WINDOW are sent as one digest. */
  SLACK_DIGEST_THRESHOLD: integer(1, 1000).default(10),
  SLACK_DIGEST_WINDOW: duration.default(60_000),
  /** Tests only: `<name>[:<nth>]` makes the process SIGKILL itself the nth time it reaches that named point. */
  BATCHLINE_CRASHPOINT: z
    .string()
    .regex(/^[a-z_]+\.[a-z0-9_]+(:[1-9]\d*)?$/, { message: 'is not <service>.<point>[:<nth>]' })
    .optional(),
  // the poller (README, "The poller")
  /** Waits before re-checking a batch after failed checks in a row (5xx, timeouts); the last repeats. */
  POLL_ERROR_BACKOFF: durationList.default([10_000, 30_000, 60_000, 300_000]),
  /** How long a 429 without Retry-After pauses every check against that provider. */
  POLL_RATE_LIMIT_PAUSE: duration.default(60_000),
  /** While a provider is paused for auth, quota or a systemic 404: how often one poller probes it. */
  POLL_PROBE_INTERVAL: duration.default(60_000),
  /** After a 404 for a batch: when the confirming re-check runs (the batch ends as not_found only then). */
  POLL_NOT_FOUND_CONFIRM: duration.default(30_000),
  /** After cancelling a batch past BATCH_MAX_AGE: how long to wait for the provider to end it and hand its output. */
  POLL_CANCEL_GRACE: duration.default(3_600_000),
  /** How often each poller runs its sweeps (re-drive, stuck batches, leases, provider clean-up). */
  POLL_SWEEP_INTERVAL: duration.default(60_000),
  /** A batch final at the provider whose results have not landed this long after is driven again. */
  RESULTS_REDRIVE_AFTER: duration.default(900_000),
  /** A pending batch without provider progress for this long raises a "stuck" alert. */
  POLL_STUCK_AFTER: duration.default(7_200_000),
  /** Delete the provider's copies (input/output/error files, Anthropic results) once the results landed. */
  DELETE_PROVIDER_FILES: z
    .enum(['true', 'false', '1', '0'], { message: 'is not true or false' })
    .transform((value) => value === 'true' || value === '1')
    .default(false),
  /** Port of the poller's endpoint for OpenAI's signed batch webhooks; unset: no endpoint. */
  POLLER_WEBHOOK_PORT: integer(0, 65535).optional(),
  /** The signing secret OpenAI shows for the webhook endpoint (`whsec_…`), as the openai SDK reads it. */
  OPENAI_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** How often each poller publishes a summary of its work (`ops.poller.summary`); unset: never. */
  POLLER_SUMMARY_INTERVAL: duration.optional(),
  /** Model of `submit --provider anthropic` when `--model` is not given. */
  BATCHLINE_ANTHROPIC_MODEL: z.string().min(1).default('claude-3-5-haiku-latest'),
});

export type Config = z.infer<typeof EnvSchema>;
export type ConfigVariable = keyof Config;
/** A variable that must be set, or a list of which at least one must be. */
export type ConfigRequirement = ConfigVariable | readonly [ConfigVariable, ...ConfigVariable[]];

/** The services that talk to providers need a key for at least one of them. */
export const PROVIDER_API_KEYS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const satisfies ConfigRequirement;

const FIXES: Partial<Record<ConfigVariable, string>> = {
  DATABASE_URL: 'Set it to a Postgres URL such as postgres://user:password@127.0.0.1:5432/batchline.',
  NATS_URL: 'Set it to one or more NATS URLs separated by commas, such as nats://127.0.0.1:4222.',
  OPENAI_API_KEY: 'Set it to an OpenAI API key (with the emulator, any non-empty value).',
  ANTHROPIC_API_KEY: 'Set it to an Anthropic API key (with the emulator, any non-empty value).',
  SLACK_WEBHOOK_URL:
    'Set it to the incoming-webhook URL Slack gave you, or unset it to log messages instead.',
  POLL_CHUNK: 'Set it to how many batches one poller checks at a time, such as 10.',
  LOG_LEVEL: 'Use one of fatal, error, warn, info, debug, trace, silent.',
  MONITOR_PORT: 'Use a TCP port number between 0 and 65535.',
  HEALTH_PORT: 'Use a TCP port number between 0 and 65535 (0 picks a free one).',
  BATCHLINE_NAMESPACE: 'Use a short lowercase prefix such as staging, or leave it empty.',
  MODEL_PRICES:
    'Use JSON such as {"gpt-4o-mini": {"input": 0.15, "output": 0.6}} (US dollars per million tokens, synchronous price).',
  BATCH_DISCOUNT_PERCENT: 'Use a whole percentage between 0 and 100, such as 50.',
  SLACK_CRITICAL_WEBHOOK_URL:
    'Set it to a second incoming-webhook URL for critical messages, or unset it to use SLACK_WEBHOOK_URL.',
  SLACK_DIGEST_THRESHOLD: 'Use a whole number of messages between 1 and 1000, such as 10.',
  BATCHLINE_CRASHPOINT: 'Use a crash point name such as notifier.after_slack_200_before_mark:2 (tests only).',
  DELETE_PROVIDER_FILES: 'Use true or false.',
  POLLER_WEBHOOK_PORT: 'Use a TCP port number between 0 and 65535, or unset it for no webhook endpoint.',
};

/**
 * Validates the environment once at start. The first problem found becomes a ConfigError that names the variable
 * and the fix. `require` lists variables this command cannot run without (a list among them: at least one of it).
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { require?: readonly ConfigRequirement[] } = {},
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
  for (const requirement of options.require ?? []) {
    const anyOf: readonly ConfigVariable[] = typeof requirement === 'string' ? [requirement] : requirement;
    if (anyOf.some((variable) => parsed.data[variable] !== undefined)) continue;
    const [first, ...others] = anyOf as [ConfigVariable, ...ConfigVariable[]];
    const problem = others.length === 0 ? 'is not set' : `is not set, nor is ${others.join(' or ')}`;
    const fix =
      others.length === 0
        ? (FIXES[first] ?? 'See the README.')
        : `Set at least one of them. ${FIXES[first] ?? ''}`.trim();
    throw new ConfigError(first, problem, fix);
  }
  return parsed.data;
}

/** The values that must never be printed, for the logger's redaction. */
export const secretValues = (config: Config): string[] =>
  [
    config.OPENAI_API_KEY,
    config.ANTHROPIC_API_KEY,
    config.SLACK_WEBHOOK_URL,
    config.SLACK_CRITICAL_WEBHOOK_URL,
    config.OPENAI_WEBHOOK_SECRET,
    config.DATABASE_URL,
    ...config.ADMIN_TOKENS,
    ...config.ADMIN_READONLY_TOKENS,
  ].filter((value): value is string => typeof value === 'string');
