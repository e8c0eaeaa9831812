import { z } from 'zod';
import { setting } from './setting.ts';
import { duration, httpUrl, integer } from './values.ts';

/**
 * The events an outbound webhook can receive, as BATCHLINE_WEBHOOK_EVENTS lists them (a job type's `webhook.events`
 * names the same two: libs/job-types `WEBHOOK_EVENTS`, which config, below job types, cannot import).
 */
const webhookEvents = z.string().transform((text, ctx) => {
  const names = text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
  const bad = names.find((name) => name !== 'batch.finalized' && name !== 'job.finalized');
  if (bad !== undefined || names.length === 0) {
    ctx.addIssue({ code: 'custom', message: `"${bad ?? text}" is not batch.finalized or job.finalized` });
    return z.NEVER;
  }
  return names as ('batch.finalized' | 'job.finalized')[];
});

/**
 * Outbound webhooks (docs/events.md): the default endpoint of every job type that declares no `webhook` of its
 * own, and how every webhook is called and retried. Read by the notifier, which delivers them.
 */
export const WebhookSettings = {
  BATCHLINE_WEBHOOK_URL: setting(httpUrl, {
    description:
      'default webhook: job types without a declared `webhook` POST their events here; unset: they POST nowhere',
    fix: 'Set it to the http(s) URL of your endpoint, or unset it.',
    secret: true,
  }),
  BATCHLINE_WEBHOOK_SECRET: setting(z.string().min(16, { message: 'is shorter than 16 characters' }), {
    description: 'signing secret of BATCHLINE_WEBHOOK_URL (whsec_<base64>, or text); required with it',
    fix: 'Set it to a secret your endpoint shares, e.g. whsec_ and 24+ random bytes in base64.',
    secret: true,
  }),
  BATCHLINE_WEBHOOK_EVENTS: setting(webhookEvents, {
    description: 'the events POSTed to BATCHLINE_WEBHOOK_URL',
    default: 'batch.finalized,job.finalized',
    fix: 'List batch.finalized and/or job.finalized, comma-separated.',
  }),
  WEBHOOK_TIMEOUT: setting(duration, { description: 'longest one webhook POST may take', default: '10s' }),
  WEBHOOK_BACKOFF: setting(duration, {
    description: "pause after a webhook's first failed attempt; it doubles after each next one (at most 1h)",
    default: '10s',
  }),
  WEBHOOK_MAX_ATTEMPTS: setting(integer(1, 100), {
    description: 'attempts per event and endpoint; after the last failed one the delivery is marked failed',
    default: '8',
    fix: 'Use a whole number of attempts between 1 and 100, such as 8.',
  }),
};
