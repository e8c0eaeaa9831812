import { createHash } from 'node:crypto';
import type { Logger } from '@batchline/logging';
import {
  IncomingWebhook,
  IncomingWebhookHTTPError,
  IncomingWebhookRequestError,
  type IncomingWebhookSendArguments,
} from '@slack/webhook';
import type { SlackMessage } from './messages/slack-message.ts';
import type { DispatchOutcome } from './store/complete.ts';

/** Slack's limit is about one message per second per webhook (docs/fault-injection.md, what batchline assumes of Slack); never faster. */
export const SLACK_MIN_INTERVAL_MS = 1_000;
/** A 429 without a usable `Retry-After` waits this long. */
const DEFAULT_RETRY_AFTER_MS = 30_000;
/** A `Retry-After` beyond this is treated as this (a broken header must not stall the notifier for days). */
const MAX_RETRY_AFTER_MS = 60 * 60_000;
/** Connection errors that mean the request never reached Slack (so a retry cannot double-post). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Where messages of some routes go: a webhook, or the log when none is configured. */
export interface SlackSink {
  /** The pacing key every replica shares for this destination: a hash of the webhook URL, never the URL. */
  readonly key: string;
  /** For people and logs: `default webhook`, `critical webhook`, `log`. */
  readonly label: string;
  readonly minIntervalMs: number;
  /** Longest one post may take. */
  readonly timeoutMs: number;
  /** Posts the message once (no retries: the dispatcher decides); never throws. */
  post(message: SlackMessage): Promise<DispatchOutcome>;
}

export const webhookKeyOf = (url: string): string =>
  `webhook:${createHash('sha256').update(url).digest('hex').slice(0, 16)}`;

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Math.ceil(Number(text) * 1000), MAX_RETRY_AFTER_MS);
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.min(Math.max(0, date - nowMs), MAX_RETRY_AFTER_MS);
}

/** Slack's error string from an error body (`channel_not_found`), or `http_<status>` when the body is not one. */
const slackErrorCode = (body: string, status: number): string => {
  const text = body.trim();
  return /^[a-z0-9_]{1,64}$/.test(text) ? text : `http_${status}`;
};

/**
 * What a failed post means: 429 → wait for `Retry-After`; 5xx, connection errors and timeouts → transient (a
 * timeout or a connection lost mid-request may have posted); any other status → Slack refused the message for
 * good (`invalid_payload`, `channel_not_found`, `no_service`, ...: docs/fault-injection.md, what batchline assumes of Slack).
 */
export function classifyWebhookFailure(
  error: unknown,
  retryAfterHeader: string | null,
  nowMs: number,
): Exclude<DispatchOutcome, { kind: 'delivered' }> {
  if (error instanceof IncomingWebhookHTTPError) {
    const status = error.statusCode;
    const code = slackErrorCode(error.body, status);
    if (status === 429) {
      return {
        kind: 'rate_limited',
        retryAfterMs: parseRetryAfterMs(retryAfterHeader, nowMs) ?? DEFAULT_RETRY_AFTER_MS,
        error: `slack answered 429 ${code}`,
      };
    }
    if (status >= 500)
      return { kind: 'transient', error: `slack answered ${status} ${code}`, possiblyDelivered: false };
    return { kind: 'refused', code, error: `slack answered ${status} ${code}` };
  }
  const original = error instanceof IncomingWebhookRequestError ? error.original : error;
  if (original instanceof Error && (original.name === 'TimeoutError' || original.name === 'AbortError')) {
    return { kind: 'transient', error: 'slack did not answer in time', possiblyDelivered: true };
  }
  const cause = original instanceof Error ? (original.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : null;
  return {
    kind: 'transient',
    error: `posting to slack failed: ${code ?? (original instanceof Error ? original.message : String(original))}`,
    possiblyDelivered: code === null || !NOT_SENT_CODES.has(code),
  };
}

/** Posts to one incoming webhook through `@slack/webhook`, with a timeout (the SDK has none by default). */
export function webhookSink(options: { url: string; label: string; timeoutMs: number }): SlackSink {
  // Sends to one sink are sequential (one dispatcher per sink), so one slot for the last answer's header is enough.
  let retryAfter: string | null = null;
  const webhook = new IncomingWebhook(options.url, {
    timeout: options.timeoutMs,
    fetch: async (url, init) => {
      const response = await fetch(url, init as RequestInit);
      retryAfter = response.headers.get('retry-after');
      return response;
    },
  });
  return {
    key: webhookKeyOf(options.url),
    label: options.label,
    minIntervalMs: SLACK_MIN_INTERVAL_MS,
    timeoutMs: options.timeoutMs,
    async post(message) {
      retryAfter = null;
      try {
        await webhook.send({
          text: message.text,
          blocks: message.blocks as unknown as IncomingWebhookSendArguments['blocks'],
        });
        return { kind: 'delivered', via: 'slack' };
      } catch (error) {
        return classifyWebhookFailure(error, retryAfter, Date.now());
      }
    },
  };
}

/** Writes messages to the log instead of Slack (`SLACK_WEBHOOK_URL` unset, or alerts meant for the log only). */
export function logSink(log: Logger): SlackSink {
  return {
    key: 'log',
    label: 'log',
    minIntervalMs: 0,
    timeoutMs: 1_000,
    async post(message) {
      log.info({ slackMessage: message.text, blocks: message.blocks }, 'slack message (no webhook for it)');
      return { kind: 'delivered', via: 'log' };
    },
  };
}
