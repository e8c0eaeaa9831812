import { TransientError } from '@batchline/bus';
import { claimNotification, completeNotification, markFinalNotified } from '@batchline/db';
import type { ServiceDefinition } from '@batchline/runtime';
import { finalMessage } from './final-message.ts';
import { createSlackSender, SlackPermanentError, SlackTransientError } from './slack-sender.ts';

/**
 * The notifier, the only service that talks to Slack: one message per final status. What was sent is recorded
 * under the event's key before the ack, so a redelivered or replayed event never posts twice. (A crash after Slack
 * accepted a post and before it was recorded can repeat that one post: webhooks have no idempotency key.)
 */
export const notifierService: ServiceDefinition = {
  name: 'notifier',
  defaultHealthPort: 9404,
  async start({ config, log, pool, bus }) {
    const slack = createSlackSender({ webhookUrl: config.SLACK_WEBHOOK_URL, log });
    const consumption = bus.consume(
      'notifier',
      async (event) => {
        const message = finalMessage(event);
        const eventKey = `final:${event.batchLogId}`;
        const claim = await claimNotification(pool, {
          eventKey,
          kind: 'batch_final',
          batchLogId: event.batchLogId,
          text: message.text,
        });
        if (claim.state !== 'sending') {
          log.info({ batchLogId: event.batchLogId, state: claim.state }, 'final message already handled');
          return;
        }
        try {
          const outcome = await slack.send(message);
          await completeNotification(pool, eventKey, outcome);
          await markFinalNotified(pool, event.batchLogId);
          log.info(
            { batchLogId: event.batchLogId, outcome, slackMessage: message.text },
            'final message dispatched',
          );
        } catch (error) {
          if (error instanceof SlackPermanentError) {
            await completeNotification(pool, eventKey, 'failed', error.message);
            log.error(
              { batchLogId: event.batchLogId, err: error },
              'slack refused the final message; not retrying',
            );
            return;
          }
          if (error instanceof SlackTransientError) {
            throw new TransientError(error.message, { cause: error, retryAfterMs: error.retryAfterMs });
          }
          throw error;
        }
      },
      // One at a time: messages go out in order of occurrence, paced by the sender.
      { concurrency: 1 },
    );
    return { stop: () => consumption.stop() };
  },
};
