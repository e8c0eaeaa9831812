import { Consumers } from '@batchline/bus';
import {
  duration,
  flag,
  integer,
  PollScheduleSettings,
  PricingSettings,
  ProviderSettings,
  ServiceSettings,
  type Settings,
  setting,
  text,
} from '@batchline/config';
import { z } from 'zod';
import { parsePolicyOverrides, policyOf } from './batch-policy.ts';
import { parseCreateInterval } from './create-interval.ts';

/** Deliveries the server lets the `batcher` consumer have unacknowledged, across replicas. */
const BATCHER_MAX_ACK_PENDING = Consumers.batcher.settings.maxAckPending;

const createInterval = z.string().transform((value, ctx) => {
  const parsed = parseCreateInterval(value);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.interval;
});

const policyOverrides = z.string().transform((value, ctx) => {
  const parsed = parsePolicyOverrides(value);
  if ('error' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.error });
    return z.NEVER;
  }
  return parsed.overrides;
});

const usd = z
  .string()
  .regex(/^\d+(\.\d+)?$/, { message: 'is not an amount of US dollars' })
  .transform(Number)
  .pipe(z.number().positive({ message: 'must be more than 0' }));

/** Every variable the batcher reads (`batchline run batcher --help` lists them). */
export const batcherSettings = {
  ...ServiceSettings,
  ...ProviderSettings,
  ...PricingSettings,
  // A batch's first check falls on the poll schedule's first step, as for `submit`.
  ...PollScheduleSettings,
  BATCH_PROCESSING_ENABLED: setting(flag, {
    description: 'false: no batch is created (requests are still taken in and kept queued)',
    default: 'true',
  }),
  BATCH_CREATE_INTERVAL: setting(createInterval, {
    description: 'when queued requests go out: a duration (5m) or a cron expression in UTC (*/5 * * * *)',
    default: '5m',
    fix: 'Use a duration such as 5m or a five-field cron expression such as */5 * * * *.',
  }),
  BATCH_MIN_SIZE: setting(integer(1, 1_000_000), {
    description:
      'fewest requests of a batch made on the interval, unless the oldest has waited two intervals',
    default: '1',
  }),
  BATCH_MAX_REQUESTS: setting(integer(1, 100_000), {
    description: 'a group of this many requests goes out at once (capped by the provider limit per file)',
    default: '50000',
  }),
  BATCHER_JOB_TYPES: setting(policyOverrides, {
    description:
      'per-job-type overrides as JSON: {"<job type>": {"maxRequests", "minSize", "interval", "dailyBudgetUsd"}}',
    default: '{}',
    fix: 'Use JSON such as {"sentiment": {"maxRequests": 1000, "minSize": 10, "interval": "*/5 * * * *"}}.',
  }),
  BATCHER_DAILY_BUDGET_USD: setting(usd, {
    description:
      'most US dollars (estimated, batch price) the batches of one job type may cost a UTC day; unset: no budget',
    fix: 'Use an amount of US dollars such as 25 or 12.5.',
  }),
  BATCHER_MAX_ENQUEUED_TOKENS: setting(integer(1, 1_000_000_000_000), {
    description:
      "most prompt tokens (estimated with a tokenizer) in a model's unfinished batches: the provider's enqueued-token limit",
    default: '2000000',
  }),
  BATCHER_REFUSAL_BACKOFF: setting(duration, {
    description:
      "after the provider refuses a model's batch for its enqueued-token limit with none of the model's batches in flight, how long its next batch waits (with some in flight, it waits for one to end)",
    default: '5m',
  }),
  BATCHER_DEFAULT_MODEL: setting(text, {
    description: 'model of an enqueued request that names none',
    default: 'gpt-4o-mini',
  }),
  BATCHER_TICK: setting(duration, {
    description:
      "how often the batcher looks for due groups and unfinished planned batches, and rewrites the queue's status",
    default: '1s',
  }),
  BATCHER_LEASE: setting(duration, {
    description:
      'how long a planned batch belongs to the batcher making it; after it, another reconciles it with the provider',
    default: '10m',
  }),
  BATCHER_INTAKE_CONCURRENCY: setting(integer(1, BATCHER_MAX_ACK_PENDING), {
    description:
      'enqueued requests one batcher takes in at once (a quarter of them share an INSERT); at most the consumer max_ack_pending',
    default: '1000',
  }),
};
export type BatcherSettings = Settings<typeof batcherSettings>;

/** Each job type's batching policy as the settings define it (the batcher and `batchline batcher status`). */
export const policiesOf = (config: BatcherSettings) =>
  policyOf(
    {
      maxRequests: config.BATCH_MAX_REQUESTS,
      minSize: config.BATCH_MIN_SIZE,
      interval: config.BATCH_CREATE_INTERVAL,
      dailyBudgetUsd: config.BATCHER_DAILY_BUDGET_USD ?? null,
    },
    config.BATCHER_JOB_TYPES,
  );
