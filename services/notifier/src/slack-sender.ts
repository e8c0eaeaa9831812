import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@batchline/logging';
import { IncomingWebhook, IncomingWebhookHTTPError } from '@slack/webhook';
import type { SlackMessage } from './final-message.ts';

/** Slack could not take the message now; try again after `retryAfterMs`. */
export class SlackTransientError extends Error {
  readonly code = 'SLACK_TRANSIENT';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** Slack refused the message for a reason that retrying will not change (`invalid_payload`, `no_service`, ...). */
export class SlackPermanentError extends Error {
  readonly code = 'SLACK_PERMANENT';
}

export interface SlackSender {
  /** Posts the message, or logs it when no webhook is configured. */
  send(message: SlackMessage): Promise<'sent' | 'logged'>;
}

/**
 * Posts through `@slack/webhook`, at most one message per `minIntervalMs` (Slack's limit is about one a second
 * per webhook), with a timeout (the SDK has none by default) and no SDK retries: redelivery does the retrying.
 */
export function createSlackSender(options: {
  webhookUrl: string | undefined;
  log: Logger;
  minIntervalMs?: number;
  timeoutMs?: number;
}): SlackSender {
  const { webhookUrl, log } = options;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  if (!webhookUrl) {
    return {
      async send(message) {
        log.info({ text: message.text, blocks: message.blocks }, 'slack message (SLACK_WEBHOOK_URL unset)');
        return 'logged';
      },
    };
  }
  let lastRetryAfter: string | null = null;
  const webhook = new IncomingWebhook(webhookUrl, {
    timeout: options.timeoutMs ?? 10_000,
    fetch: async (url, init) => {
      const response = await fetch(url, init as RequestInit);
      lastRetryAfter = response.headers.get('retry-after');
      return response;
    },
  });
  let nextSendAt = 0;
  return {
    async send(message) {
      const wait = nextSendAt - Date.now();
      if (wait > 0) await sleep(wait);
      nextSendAt = Date.now() + minIntervalMs;
      try {
        await webhook.send({ text: message.text, blocks: message.blocks as never });
        return 'sent';
      } catch (error) {
        if (error instanceof IncomingWebhookHTTPError) {
          if (error.statusCode === 429) {
            const seconds = Number(lastRetryAfter);
            const retryAfterMs = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 5000;
            nextSendAt = Date.now() + retryAfterMs;
            throw new SlackTransientError('slack rate limited the webhook (429)', retryAfterMs);
          }
          if (error.statusCode >= 500)
            throw new SlackTransientError(`slack answered ${error.statusCode}`, 2000);
          throw new SlackPermanentError(
            `slack refused the message: ${error.statusCode} ${error.body.slice(0, 100)}`,
          );
        }
        // Connection errors and timeouts.
        throw new SlackTransientError(
          `posting to slack failed: ${error instanceof Error ? error.message : String(error)}`,
          2000,
        );
      }
    },
  };
}
