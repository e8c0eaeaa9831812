import { pricingFrom } from '@batchline/config';
import { startOutboxRelay } from '@batchline/outbox';
import { configuredProviders } from '@batchline/providers';
import { defineService } from '@batchline/runtime';
import { startBatcherLoop } from './batcher-loop.ts';
import { intakeGroups, intakeHandler } from './intake.ts';
import { refusalHandler } from './refusals.ts';
import { batcherSettings, policiesOf } from './settings.ts';

/**
 * The batcher: takes enqueued requests in (`batch.requests.enqueued`, many per INSERT, each acked after its INSERT
 * commits; a request id enqueued twice is one request), groups them per job type, provider and model, and makes a batch when a group is
 * due (size, interval, on demand), recording the intent in Postgres before the upload so that a crash neither
 * loses nor doubles requests. The batches it records go through the rest of the pipeline like submitted ones; one
 * the provider fails for its enqueued-token limit (`batch.status.changed`, consumer `batcher-refusals`) has its
 * requests queued again.
 */
export const batcherService = defineService({
  name: 'batcher',
  settings: batcherSettings,
  requires: ['OPENAI_API_KEY'],
  defaultHealthPort: 9406,
  async start({ config, log, pool, bus, jobTypes, instanceId }) {
    const provider = configuredProviders(config).get('openai');
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const concurrency = config.BATCHER_INTAKE_CONCURRENCY;
    const intake = bus.consume(
      'batcher',
      intakeHandler({
        pool,
        jobTypes,
        defaultModel: config.BATCHER_DEFAULT_MODEL,
        group: intakeGroups(concurrency),
      }),
      // Queuing is idempotent (a request id queued again is one request): an ack lost is only a redelivery.
      { concurrency, confirmAcks: false },
    );
    const refusals = bus.consume('batcher-refusals', refusalHandler({ pool, log, service: 'batcher' }));
    const loop = startBatcherLoop({
      pool,
      provider,
      jobTypes,
      log,
      service: 'batcher',
      instanceId,
      firstPollDelayMs: config.POLL_SCHEDULE[0]!,
      pricing: pricingFrom(config),
      maxEnqueuedTokens: config.BATCHER_MAX_ENQUEUED_TOKENS,
      refusalBackoffMs: config.BATCHER_REFUSAL_BACKOFF,
      leaseMs: config.BATCHER_LEASE,
      enabled: config.BATCH_PROCESSING_ENABLED,
      policyOf: policiesOf(config),
      tickMs: config.BATCHER_TICK,
    });
    return {
      async stop() {
        await intake.stop();
        await refusals.stop();
        await loop.stop();
        await relay.stop();
      },
    };
  },
});
