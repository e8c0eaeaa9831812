import { pricingFrom } from '@batchline/config';
import { startOutboxRelay } from '@batchline/outbox';
import { defineService } from '@batchline/runtime';
import { crashPoints } from './crash-point.ts';
import { Dispatcher } from './dispatcher.ts';
import { createIntake } from './intake.ts';
import { DIGEST_MAX_ENTRIES, digestMessage } from './messages/digest-message.ts';
import { slackRefusalMessage } from './messages/ops-message.ts';
import { createSlackSendsCounter } from './metrics.ts';
import { planDeliveries } from './routing.ts';
import { notifierSettings } from './settings.ts';
import { enqueueNotificationOncePer } from './store/enqueue.ts';
import type { NotificationRoute } from './store/notification.ts';
import { WebhookDeliverer } from './webhooks/deliverer.ts';
import { resolveWebhookEndpoints } from './webhooks/endpoints.ts';
import { createWebhookIntake } from './webhooks/webhook-intake.ts';

/** A dead webhook refuses every message; operators need one report per webhook and Slack error an hour. */
const REFUSAL_REPORT_EVERY_MS = 60 * 60_000;

/**
 * The notifier, the only service that talks to Slack. Intake: one durable consumer per event kind records each
 * event's message in Postgres, keyed by the event, before acking it. Dispatch: one dispatcher per destination
 * sends what is due in order of occurrence, at most one message per second per webhook across all replicas (a
 * bucket shared through Postgres), waiting out 429s and outages, bundling bursts of final statuses into digests.
 */
export const notifierService = defineService({
  name: 'notifier',
  settings: notifierSettings,
  defaultHealthPort: 9404,
  async start({ config, log, pool, bus, instanceId, metrics, jobTypes, env }) {
    const crash = crashPoints(config.BATCHLINE_CRASHPOINT, log);
    // Resolved first: a job type's webhook variable that is missing stops the start with its name.
    const webhookEndpoints = resolveWebhookEndpoints(
      jobTypes.all(),
      {
        url: config.BATCHLINE_WEBHOOK_URL,
        secret: config.BATCHLINE_WEBHOOK_SECRET,
        events: config.BATCHLINE_WEBHOOK_EVENTS,
      },
      env,
    );
    const deliveries = planDeliveries({
      defaultUrl: config.SLACK_WEBHOOK_URL,
      criticalUrl: config.SLACK_CRITICAL_WEBHOOK_URL,
      timeoutMs: config.SLACK_TIMEOUT,
      log,
    });
    const slackSends = createSlackSendsCounter(metrics);
    const digestSettings = { threshold: config.SLACK_DIGEST_THRESHOLD, windowMs: config.SLACK_DIGEST_WINDOW };
    const dispatchers = deliveries.map(
      (delivery) =>
        new Dispatcher({
          pool,
          delivery,
          instanceId,
          log,
          retryScheduleMs: config.SLACK_RETRY_SCHEDULE,
          digest: {
            ...digestSettings,
            maxEntries: DIGEST_MAX_ENTRIES,
            compose: (entries) => digestMessage(entries, digestSettings),
          },
          crash,
          sends: slackSends,
          async reportRefusal({ route, code, message }) {
            const created = await enqueueNotificationOncePer(
              pool,
              {
                kind: 'slack_refused',
                route,
                severity: 'high',
                occurredAt: new Date(),
                batchLogId: null,
                announcesFinal: false,
                ...slackRefusalMessage({
                  webhook: delivery.sink.label,
                  code,
                  eventKey: message.eventKey,
                  refusedText: message.text,
                }),
              },
              { series: `slack-refused:${delivery.sink.key}:${code}:`, withinMs: REFUSAL_REPORT_EVERY_MS },
            );
            if (created) wake(route);
          },
        }),
    );
    const wake = (route: NotificationRoute) => {
      for (const dispatcher of dispatchers) if (dispatcher.routes.includes(route)) dispatcher.wake();
    };
    const intake = createIntake({
      pool,
      pricing: pricingFrom(config),
      crash,
      log,
      recorded: wake,
    });
    // A webhook given up on is announced as an ops.error through the outbox, committed with the failed mark.
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const webhookDeliverer = new WebhookDeliverer({
      pool,
      endpoints: webhookEndpoints,
      instanceId,
      log,
      crash,
      timeoutMs: config.WEBHOOK_TIMEOUT,
      backoffMs: config.WEBHOOK_BACKOFF,
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      announced: () => relay.kick(),
    });
    const webhookIntake = createWebhookIntake({
      pool,
      endpoints: webhookEndpoints,
      crash,
      log,
      recorded: () => webhookDeliverer.wake(),
    });
    // Handlers only record (fast), so one at a time per consumer is plenty; order comes from occurrence times.
    // The webhook consumers run (and ack) with no endpoint configured too, so they never pile up a backlog.
    const consumptions = [
      bus.consume('notifier', intake.batchFinalized),
      bus.consume('notifier-jobs', intake.jobFinalized),
      bus.consume('notifier-alerts', intake.alertRaised),
      bus.consume('notifier-ops', intake.opsError),
      bus.consume('notifier-summaries', intake.pollerSummary),
      bus.consume('notifier-webhooks', webhookIntake.batchFinalized),
      bus.consume('notifier-job-webhooks', webhookIntake.jobFinalized),
    ];
    for (const dispatcher of dispatchers) dispatcher.start();
    webhookDeliverer.start();
    log.info(
      {
        destinations: deliveries.map((d) => ({ destination: d.sink.label, routes: d.routes })),
        webhooks: webhookEndpoints.all.map((endpoint) => ({
          endpoint: endpoint.name,
          events: endpoint.events,
        })),
      },
      'notifier dispatching',
    );
    return {
      async stop() {
        await Promise.all(consumptions.map((consumption) => consumption.stop()));
        await Promise.all([...dispatchers.map((dispatcher) => dispatcher.stop()), webhookDeliverer.stop()]);
        await relay.stop();
      },
    };
  },
});
