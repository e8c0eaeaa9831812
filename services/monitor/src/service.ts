import { pricingFrom } from '@batchline/config';
import { countBatchesByState } from '@batchline/db';
import { enqueuedRequestMsgId, Subjects } from '@batchline/events';
import { checkEnqueuedRequest } from '@batchline/job-types';
import { startOutboxRelay } from '@batchline/outbox';
import { createOpenAIProvider } from '@batchline/providers';
import { defineService } from '@batchline/runtime';
import { startAlertEvaluator } from './alerts.ts';
import { buildApp } from './app.ts';
import { DEFAULT_DASHBOARD_DIR } from './dashboard-assets.ts';
import { createMonitorMetrics } from './metrics.ts';
import { startRetentionJob } from './retention/job.ts';
import { purgePlan } from './retention/plan.ts';
import { createRoundDecider } from './retrier/round-decision.ts';
import { startRetrySweeper } from './retrier/sweeper.ts';
import { monitorSettings } from './settings.ts';
import { registerSystemGauges } from './system-gauges.ts';

/**
 * The monitor: the admin API and dashboard on MONITOR_PORT, the alert rules evaluated every
 * MONITOR_ALERT_INTERVAL, an outbox relay that publishes the alerts it raises (`alert.raised`), and the daily purge
 * of batchline's history (one replica at a time), and the retrier: automatic retry rounds of a job's failed
 * requests (consumer `monitor-retrier`, a sweeper per replica) and the job's end (`job.finalized`, through the relay).
 */
export const monitorService = defineService({
  name: 'monitor',
  settings: monitorSettings,
  defaultHealthPort: 9405,
  async start({ config, log, pool, bus, metrics: serviceMetrics, instanceId, jobTypes }) {
    if (!config.OPENAI_API_KEY) log.warn('OPENAI_API_KEY is not set: retry and cancel are refused');
    const metrics = createMonitorMetrics(() => countBatchesByState(pool));
    const providers = config.OPENAI_API_KEY
      ? { openai: createOpenAIProvider({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL }) }
      : {};
    const firstPollDelayMs = config.POLL_SCHEDULE[0]!;
    const app = await buildApp({
      pool,
      log,
      metrics,
      providers,
      operatorTokens: config.ADMIN_TOKENS,
      readerTokens: config.ADMIN_READONLY_TOKENS,
      pricing: pricingFrom(config),
      jobTypes,
      firstPollDelayMs,
      dashboardDir: DEFAULT_DASHBOARD_DIR,
      readiness: () => ({ nats: bus.status().connected }),
      requestIntake: {
        problemOf: (request) => {
          const checked = checkEnqueuedRequest(jobTypes, request);
          return 'problem' in checked ? checked.problem : null;
        },
        publish: async (request) =>
          (await bus.publish(Subjects.requestsEnqueued, request, { msgId: enqueuedRequestMsgId(request) }))
            .duplicate,
      },
    });
    const address = await app.listen({ port: config.MONITOR_PORT, host: '0.0.0.0' });
    log.info({ address }, 'monitor listening');
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const evaluator = startAlertEvaluator({
      pool,
      log,
      metrics,
      intervalMs: config.MONITOR_ALERT_INTERVAL,
      onRaised: () => relay.kick(),
    });
    registerSystemGauges(serviceMetrics, { pool, bus });
    const retention = startRetentionJob({
      pool,
      log,
      metrics: serviceMetrics,
      holder: instanceId,
      plan: purgePlan(config),
      intervalMs: config.RETENTION_PURGE_INTERVAL,
      batchRows: config.RETENTION_PURGE_BATCH_ROWS,
      pauseMs: config.RETENTION_PURGE_PAUSE,
    });
    // The retrier: a round decision (and maybe the job's end) per final batch of a job, due rounds submitted.
    const sweeper = startRetrySweeper({
      deps: { pool, log, metrics, providers, firstPollDelayMs, jobTypes },
      log,
      holder: instanceId,
      intervalMs: config.RETRY_SWEEP_INTERVAL,
      finalized: () => relay.kick(),
    });
    const decide = createRoundDecider({ pool, log, decided: () => relay.kick() });
    const retrier = bus.consume('monitor-retrier', async (event) => {
      await decide(event);
    });
    return {
      async stop() {
        await retrier.stop();
        await sweeper.stop();
        await retention.stop();
        await evaluator.stop();
        await app.close();
        await relay.stop();
      },
    };
  },
});
