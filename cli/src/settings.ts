import {
  BusSettings,
  DatabaseSettings,
  integer,
  JobTypeSettings,
  LogSettings,
  PollScheduleSettings,
  ProviderSettings,
  RetryPolicySettings,
  type Settings,
  setting,
  text,
} from '@batchline/config';

/** What the commands other than `run`/`up` read: the database, the bus, the providers and submission defaults. */
export const cliSettings = {
  ...DatabaseSettings,
  ...JobTypeSettings,
  ...BusSettings,
  ...LogSettings,
  ...ProviderSettings,
  // A submitted batch's first check falls on the poll schedule's first step.
  ...PollScheduleSettings,
  // Each job keeps the retry policy in force when it is created.
  ...RetryPolicySettings,
  SUBMIT_MAX_REQUESTS_PER_FILE: setting(integer(1, 100_000), {
    description:
      'most requests in one batch of submit, below the provider limit (unset: the limit); a lower figure splits a submission into more batches',
    fix: 'Use a whole number between 1 and 100000, or leave it unset.',
  }),
  BATCHLINE_MODEL: setting(text, {
    description: 'model of submit when --model is not given',
    default: 'gpt-4o-mini',
  }),
  BATCHLINE_ANTHROPIC_MODEL: setting(text, {
    description: 'model of submit --provider anthropic when --model is not given',
    default: 'claude-3-5-haiku-latest',
  }),
};
export type CliSettings = Settings<typeof cliSettings>;
