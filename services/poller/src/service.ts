import { PROVIDER_API_KEYS } from '@batchline/config';
import type { Pool } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import { registerProviderCallHistogram } from '@batchline/metrics';
import { startOutboxRelay } from '@batchline/outbox';
import {
  configuredProviders,
  openAIWebhookVerifier,
  type ProviderSet,
  timedProviders,
} from '@batchline/providers';
import { defineService } from '@batchline/runtime';
import type { CheckDeps } from './check-batch.ts';
import { createPollerMetrics } from './metrics.ts';
import { startPollLoop } from './poll-loop.ts';
import { startQueueWatch } from './queue-episodes.ts';
import { type PollerSettings, pollerSettings } from './settings.ts';
import { startPeriodicSummary } from './summary.ts';
import { startSweeps } from './sweeps.ts';
import { startWebhookServer, type WebhookServer } from './webhook-server.ts';

/** What a status check needs, from the configuration (the poller's loop and `batchline poll` share it). */
export function checkDepsFromConfig(
  config: PollerSettings,
  pool: Pool,
  log: Logger,
  providers: ProviderSet,
): CheckDeps {
  return {
    pool,
    providers,
    log,
    schedule: config.POLL_SCHEDULE,
    errorBackoff: config.POLL_ERROR_BACKOFF,
    maxAgeMs: config.BATCH_MAX_AGE,
    cancelGraceMs: config.POLL_CANCEL_GRACE,
    notFoundConfirmMs: config.POLL_NOT_FOUND_CONFIRM,
    rateLimitPauseMs: config.POLL_RATE_LIMIT_PAUSE,
    probeIntervalMs: config.POLL_PROBE_INTERVAL,
    outages: {
      pool,
      log,
      outageAfterMs: config.OPS_PROVIDER_OUTAGE_AFTER,
      runbookUrl: config.OPS_RUNBOOK_URL,
    },
  };
}

/** The poller: checks pending batches at their provider on the POLL_SCHEDULE and announces what changed. */
export const pollerService = defineService({
  name: 'poller',
  settings: pollerSettings,
  defaultHealthPort: 9401,
  requires: [PROVIDER_API_KEYS],
  async start({ config, log, pool, bus, instanceId, metrics }) {
    const providers = timedProviders(configuredProviders(config), registerProviderCallHistogram(metrics));
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const deps = checkDepsFromConfig(config, pool, log, providers);
    const loop = startPollLoop({
      ...deps,
      outages: deps.outages && { ...deps.outages, onAnnounced: () => relay.kick() },
      metrics: createPollerMetrics(metrics),
      owner: instanceId,
      chunk: config.POLL_CHUNK,
      tickMs: config.POLL_TICK,
      leaseMs: config.POLL_LEASE,
      onChanges: () => relay.kick(),
    });
    const queueWatch = startQueueWatch({
      pool,
      bus,
      log,
      intervalMs: config.POLL_SWEEP_INTERVAL,
      troubleAfterMs: config.OPS_QUEUE_TROUBLE_AFTER,
      lagMax: config.OPS_CONSUMER_LAG_MAX,
      runbookUrl: config.OPS_RUNBOOK_URL,
      onAnnounced: () => relay.kick(),
    });
    const sweeps = startSweeps({
      pool,
      providers,
      log,
      intervalMs: config.POLL_SWEEP_INTERVAL,
      redriveAfterMs: config.RESULTS_REDRIVE_AFTER,
      stuckAfterMs: config.POLL_STUCK_AFTER,
      deleteProviderFiles: config.DELETE_PROVIDER_FILES,
      onRedrive: () => relay.kick(),
    });
    const summary =
      config.POLLER_SUMMARY_INTERVAL === undefined
        ? null
        : startPeriodicSummary({
            pool,
            log,
            owner: instanceId,
            intervalMs: config.POLLER_SUMMARY_INTERVAL,
            onEnqueued: () => relay.kick(),
          });
    let webhooks: WebhookServer | null = null;
    if (config.POLLER_WEBHOOK_PORT !== undefined) {
      if (!config.OPENAI_WEBHOOK_SECRET) {
        log.warn('POLLER_WEBHOOK_PORT is set but OPENAI_WEBHOOK_SECRET is not: no webhook endpoint');
      } else {
        webhooks = await startWebhookServer({
          port: config.POLLER_WEBHOOK_PORT,
          pool,
          log,
          verify: openAIWebhookVerifier(config.OPENAI_WEBHOOK_SECRET),
          onBatchDue: () => loop.wake(),
        });
        log.info({ port: webhooks.port }, 'OpenAI webhook endpoint listening');
      }
    }
    return {
      async stop() {
        await webhooks?.close();
        queueWatch.stop();
        await Promise.all([loop.stop(), sweeps.stop(), summary?.stop()]);
        await relay.stop();
      },
    };
  },
});
