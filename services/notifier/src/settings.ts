import {
  duration,
  durationList,
  httpUrl,
  integer,
  PricingSettings,
  ServiceSettings,
  type Settings,
  setting,
  WebhookSettings,
} from '@batchline/config';
import { z } from 'zod';

/** Every variable the notifier reads (`batchline run notifier --help` lists them). */
export const notifierSettings = {
  ...ServiceSettings,
  ...PricingSettings,
  ...WebhookSettings,
  SLACK_WEBHOOK_URL: setting(httpUrl, {
    description: 'Slack incoming webhook; unset: the notifier writes each message to its log',
    fix: 'Set it to the incoming-webhook URL Slack gave you, or unset it to log messages instead.',
    secret: true,
  }),
  SLACK_CRITICAL_WEBHOOK_URL: setting(httpUrl, {
    description: 'a second webhook for critical alerts and operational errors; unset: SLACK_WEBHOOK_URL',
    fix: 'Set it to a second incoming-webhook URL for critical messages, or unset it to use SLACK_WEBHOOK_URL.',
    secret: true,
  }),
  SLACK_TIMEOUT: setting(duration, { description: 'longest one POST to Slack may take', default: '10s' }),
  SLACK_RETRY_SCHEDULE: setting(durationList, {
    description: 'pauses of a webhook after consecutive 5xx answers or connection errors; the last repeats',
    default: '1s,2s,5s,15s,30s',
  }),
  SLACK_DIGEST_THRESHOLD: setting(integer(1, 1000), {
    description:
      'more than this many final-status messages due within SLACK_DIGEST_WINDOW go out as one digest',
    default: '10',
    fix: 'Use a whole number of messages between 1 and 1000, such as 10.',
  }),
  SLACK_DIGEST_WINDOW: setting(duration, { description: 'see SLACK_DIGEST_THRESHOLD', default: '1m' }),
  BATCHLINE_CRASHPOINT: setting(
    z.string().regex(/^[a-z_]+\.[a-z0-9_]+(:[1-9]\d*)?$/, { message: 'is not <service>.<point>[:<nth>]' }),
    {
      description:
        'tests only: <service>.<point>[:<n>] makes the process SIGKILL itself the n-th time it gets there',
      fix: 'Use a crash point name such as notifier.after_slack_200_before_mark:2 (tests only).',
    },
  ),
};
export type NotifierSettings = Settings<typeof notifierSettings>;
