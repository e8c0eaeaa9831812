import {
  duration,
  durationList,
  flag,
  integer,
  OpsEpisodeSettings,
  PollScheduleSettings,
  ProviderSettings,
  port,
  ServiceSettings,
  type Settings,
  setting,
  text,
} from '@batchline/config';

/** Every variable the poller reads (`batchline run poller --help` lists them). */
export const pollerSettings = {
  ...ServiceSettings,
  ...ProviderSettings,
  ...PollScheduleSettings,
  ...OpsEpisodeSettings,
  POLL_CHUNK: setting(integer(1, 1000), {
    description: 'most batches one poller checks at a time',
    default: '10',
    fix: 'Set it to how many batches one poller checks at a time, such as 10.',
  }),
  BATCH_MAX_AGE: setting(duration, {
    description: 'a batch not terminal this long after submission is cancelled at the provider and ended',
    default: '26h',
  }),
  POLL_TICK: setting(duration, {
    description: 'the longest an idle poller sleeps before looking for due batches',
    default: '1s',
  }),
  POLL_LEASE: setting(duration, {
    description: "how long a poller's lease on a batch lasts (a crashed poller's leases expire after it)",
    default: '60s',
  }),
  POLL_ERROR_BACKOFF: setting(durationList, {
    description:
      'waits before re-checking a batch after failed checks in a row (5xx, timeouts); the last repeats',
    default: '10s,30s,1m,5m',
  }),
  POLL_RATE_LIMIT_PAUSE: setting(duration, {
    description: 'how long a 429 without Retry-After pauses every check against that provider',
    default: '1m',
  }),
  POLL_PROBE_INTERVAL: setting(duration, {
    description:
      'while a provider is paused for auth, quota or a systemic 404: how often one poller probes it',
    default: '1m',
  }),
  POLL_NOT_FOUND_CONFIRM: setting(duration, {
    description:
      'after a 404 for a batch, when the confirming re-check runs (it ends as not_found only then)',
    default: '30s',
  }),
  POLL_CANCEL_GRACE: setting(duration, {
    description: 'after cancelling a batch past BATCH_MAX_AGE, how long to wait for the provider to end it',
    default: '1h',
  }),
  POLL_SWEEP_INTERVAL: setting(duration, {
    description: 'how often each poller runs its sweeps (re-drive, stuck batches, leases, provider clean-up)',
    default: '1m',
  }),
  RESULTS_REDRIVE_AFTER: setting(duration, {
    description:
      'a batch final at the provider whose results have not landed this long after is driven again',
    default: '15m',
  }),
  POLL_STUCK_AFTER: setting(duration, {
    description: 'a pending batch without provider progress this long raises a "stuck" alert',
    default: '2h',
  }),
  DELETE_PROVIDER_FILES: setting(flag, {
    description:
      "delete the provider's copies (input/output/error files, Anthropic results) once results landed",
    default: 'false',
    fix: 'Use true or false.',
  }),
  POLLER_WEBHOOK_PORT: setting(port, {
    description: "port of the endpoint for OpenAI's signed batch webhooks; unset: no endpoint",
    fix: 'Use a TCP port number between 0 and 65535, or unset it for no webhook endpoint.',
  }),
  OPENAI_WEBHOOK_SECRET: setting(text, {
    description: 'the signing secret OpenAI shows for the webhook endpoint (whsec_…)',
    secret: true,
  }),
  POLLER_SUMMARY_INTERVAL: setting(duration, {
    description: 'how often each poller publishes a summary of its work (ops.poller.summary); unset: never',
  }),
};
export type PollerSettings = Settings<typeof pollerSettings>;
