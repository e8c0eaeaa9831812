import {
  BusSettings,
  DatabaseSettings,
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
