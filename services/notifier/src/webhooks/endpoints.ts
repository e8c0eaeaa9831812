import { ConfigError, httpUrl } from '@batchline/config';
import { DEFAULT_JOB_TYPE, type JobType, type WebhookEventName } from '@batchline/job-types';
import { registerSecrets } from '@batchline/logging';
import { webhookKeyOf } from '../slack-sink.ts';

/** One endpoint events are POSTed to. Its URL and secret stay in memory: records and logs name it by `name`. */
export interface WebhookEndpoint {
  /** The environment variable holding its URL (`BATCHLINE_WEBHOOK_URL` for the default one). */
  readonly name: string;
  readonly url: string;
  readonly secret: string;
  /** A hash of the URL, never the URL. */
  readonly urlHash: string;
  readonly events: readonly WebhookEventName[];
}

/** The endpoints in force, resolved once at start. */
export interface WebhookEndpoints {
  /** Where an event of this job type goes: its own webhook, else the default one; null: nowhere. */
  forEvent(subject: WebhookEventName, jobType: string | null): WebhookEndpoint | null;
  /** The endpoint a recorded delivery names; undefined when it is no longer configured. */
  named(name: string): WebhookEndpoint | undefined;
  readonly all: readonly WebhookEndpoint[];
}

export interface DefaultWebhook {
  url: string | undefined;
  secret: string | undefined;
  events: readonly WebhookEventName[];
}

const SECRET_MIN_LENGTH = 16;

function readUrl(env: NodeJS.ProcessEnv, variable: string, declaredBy: string): string {
  const value = env[variable];
  if (!value) {
    throw new ConfigError(variable, `is not set (${declaredBy} POSTs to it)`, 'Set it to the endpoint URL.');
  }
  if (!httpUrl.safeParse(value).success) {
    throw new ConfigError(variable, 'is not an http or https URL', 'Set it to the endpoint URL.');
  }
  return value;
}

function readSecret(env: NodeJS.ProcessEnv, variable: string, declaredBy: string): string {
  const value = env[variable];
  if (!value || value.length < SECRET_MIN_LENGTH) {
    throw new ConfigError(
      variable,
      `${value ? `is shorter than ${SECRET_MIN_LENGTH} characters` : 'is not set'} (${declaredBy} signs with it)`,
      'Set it to a secret your endpoint shares, e.g. whsec_ and 24+ random bytes in base64.',
    );
  }
  return value;
}

function endpoint(name: string, url: string, secret: string, events: readonly WebhookEventName[]) {
  registerSecrets([url, secret]);
  return { name, url, secret, urlHash: webhookKeyOf(url), events };
}

/**
 * The job types' declared webhooks (URL and secret read from the variables each declaration names) and the
 * default one; a missing or bad variable is a ConfigError naming it, at start.
 */
export function resolveWebhookEndpoints(
  jobTypes: readonly Pick<JobType, 'name' | 'declaration'>[],
  defaultWebhook: DefaultWebhook,
  env: NodeJS.ProcessEnv,
): WebhookEndpoints {
  const byName = new Map<string, WebhookEndpoint>();
  const byJobType = new Map<string, WebhookEndpoint>();
  for (const jobType of jobTypes) {
    const declared = jobType.declaration.webhook;
    if (!declared) continue;
    const declaredBy = `job type ${jobType.name}`;
    const url = readUrl(env, declared.urlEnv, declaredBy);
    const secret = readSecret(env, declared.secretEnv, declaredBy);
    // Job types sharing a URL variable share the endpoint (deliveries name it), so they must sign alike; each
    // keeps its own list of events.
    const shared = byName.get(declared.urlEnv);
    if (shared && shared.secret !== secret) {
      throw new ConfigError(
        declared.secretEnv,
        `signs for ${declared.urlEnv} in ${declaredBy}, while another job type signs for it with another secret`,
        'Give job types that share a URL variable the same secretEnv.',
      );
    }
    const own = endpoint(declared.urlEnv, url, secret, declared.events);
    byName.set(declared.urlEnv, own);
    byJobType.set(jobType.name, own);
  }
  let fallback: WebhookEndpoint | null = null;
  if (defaultWebhook.url) {
    const secret = readSecret(
      { BATCHLINE_WEBHOOK_SECRET: defaultWebhook.secret },
      'BATCHLINE_WEBHOOK_SECRET',
      'BATCHLINE_WEBHOOK_URL',
    );
    fallback = endpoint('BATCHLINE_WEBHOOK_URL', defaultWebhook.url, secret, defaultWebhook.events);
    byName.set(fallback.name, fallback);
  }
  return {
    forEvent(subject, jobType) {
      const chosen = byJobType.get(jobType ?? DEFAULT_JOB_TYPE) ?? fallback;
      return chosen?.events.includes(subject) ? chosen : null;
    },
    named: (name) => byName.get(name),
    all: [...byName.values()],
  };
}
