import { z } from 'zod';
import { DatabaseTroubleSettings } from './ops-settings.ts';
import { setting } from './setting.ts';
import {
  commaList,
  duration,
  durationList,
  httpUrl,
  integer,
  modelPrices,
  port,
  text,
  url,
} from './values.ts';

/**
 * Settings more than one process reads, in groups a service composes into its own schema (see each service's
 * `settings.ts`). Each variable is declared once, here or in the one service that reads it.
 */

export const DatabaseSettings = {
  DATABASE_URL: setting(url(['postgres:', 'postgresql:']), {
    description: 'Postgres connection URL',
    fix: 'Set it to a Postgres URL such as postgres://user:password@127.0.0.1:5432/batchline.',
    secret: true,
  }),
};

export const BusSettings = {
  NATS_URL: setting(commaList, {
    description: 'NATS server URL(s), comma-separated',
    default: 'nats://127.0.0.1:4222',
    fix: 'Set it to one or more NATS URLs separated by commas, such as nats://127.0.0.1:4222.',
  }),
  BATCHLINE_NAMESPACE: setting(
    z.string().regex(/^[a-z0-9]*$/, { message: 'may hold only lowercase letters and digits' }),
    {
      description: 'prefix of every subject and stream (several installations or tests on one NATS)',
      default: '',
      fix: 'Use a short lowercase prefix such as staging, or leave it empty.',
    },
  ),
  STREAM_MAX_AGE: setting(duration, {
    description: 'how long JetStream keeps events, dead letters included (how far back replay reaches)',
    default: '14d',
  }),
  STREAM_REPLICAS: setting(integer(1, 5), {
    description: 'JetStream stream replicas: 1 on a single server, 3 on a production cluster',
    default: '1',
  }),
};

export const LogSettings = {
  LOG_LEVEL: setting(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), {
    description: 'pino log level',
    default: 'info',
    fix: 'Use one of fatal, error, warn, info, debug, trace, silent.',
  }),
};

/** Read by the OpenTelemetry SDK itself; declared so that a bad value is one clear error and `--help` shows them. */
export const TelemetrySettings = {
  OTEL_EXPORTER_OTLP_ENDPOINT: setting(httpUrl, {
    description: 'OTLP/HTTP endpoint of the trace collector (e.g. Jaeger); unset: tracing off',
  }),
  OTEL_SERVICE_NAME: setting(text, { description: 'service name in traces (default batchline-<service>)' }),
};

export const JobTypeSettings = {
  BATCHLINE_JOB_TYPES: setting(text, {
    description:
      'a job type declaration file, or a folder of *.json / *.yaml / *.yml ones, besides the built-in specific_viewpoint',
    fix: 'Set it to a readable file or folder of job type declarations (docs/job-types.md), or leave it unset.',
  }),
};

/** What every service process reads: its database, its bus, its logs, traces, health port and job types. */
export const ServiceSettings = {
  ...DatabaseSettings,
  ...JobTypeSettings,
  ...BusSettings,
  ...LogSettings,
  ...TelemetrySettings,
  ...DatabaseTroubleSettings,
  HEALTH_PORT: setting(port, {
    description: "this service's /healthz, /readyz and /metrics port (0 picks a free one)",
    fix: 'Use a TCP port number between 0 and 65535 (0 picks a free one).',
  }),
};

export const OpenAISettings = {
  OPENAI_API_KEY: setting(text, {
    description: 'OpenAI API key, as the official openai SDK reads it',
    fix: 'Set it to an OpenAI API key (with the emulator, any non-empty value).',
    secret: true,
  }),
  OPENAI_BASE_URL: setting(httpUrl, { description: 'OpenAI API base URL (the emulator, a proxy)' }),
};

export const AnthropicSettings = {
  ANTHROPIC_API_KEY: setting(text, {
    description: 'Anthropic API key, as the official Anthropic SDK reads it',
    fix: 'Set it to an Anthropic API key (with the emulator, any non-empty value).',
    secret: true,
  }),
  ANTHROPIC_BASE_URL: setting(httpUrl, { description: 'Anthropic API base URL (the emulator, a proxy)' }),
};

export const ProviderSettings = { ...OpenAISettings, ...AnthropicSettings };

/** A process that talks to providers needs a key for at least one of them. */
export const PROVIDER_API_KEYS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;

export const PollScheduleSettings = {
  POLL_SCHEDULE: setting(durationList, {
    description:
      'delays between status checks of one batch from its submission; the last repeats; ±10 % jitter',
    default: '1m,2m,5m',
  }),
};

export const PricingSettings = {
  MODEL_PRICES: setting(modelPrices, {
    description:
      'synchronous price per model (US dollars per million tokens), JSON laid over the built-in table',
    default: '{}',
    fix: 'Use JSON such as {"gpt-4o-mini": {"input": 0.15, "output": 0.6}} (US dollars per million tokens, synchronous price).',
  }),
  BATCH_DISCOUNT_PERCENT: setting(integer(0, 100), {
    description:
      "every provider's discount of batch over synchronous requests, in percent; unset: each provider's built-in (50)",
    fix: 'Use a whole percentage between 0 and 100, such as 50.',
  }),
  OPENAI_BATCH_DISCOUNT_PERCENT: setting(integer(0, 100), {
    description: "OpenAI's batch discount in percent, instead of BATCH_DISCOUNT_PERCENT",
    fix: 'Use a whole percentage between 0 and 100, such as 50.',
  }),
  ANTHROPIC_BATCH_DISCOUNT_PERCENT: setting(integer(0, 100), {
    description: "Anthropic's batch discount in percent, instead of BATCH_DISCOUNT_PERCENT",
    fix: 'Use a whole percentage between 0 and 100, such as 50.',
  }),
};
