import { startOutboxRelay } from '@batchline/outbox';
import { createOpenAIProvider } from '@batchline/providers';
import type { ServiceDefinition } from '@batchline/runtime';
import { startPollLoop } from './poll-loop.ts';

/** The poller: checks pending batches at the provider on the POLL_SCHEDULE and announces status changes. */
export const pollerService: ServiceDefinition = {
  name: 'poller',
  defaultHealthPort: 9401,
  requires: ['OPENAI_API_KEY'],
  async start({ config, log, pool, bus, instanceId }) {
    const provider = createOpenAIProvider({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL });
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const loop = startPollLoop({
      pool,
      provider,
      log,
      owner: instanceId,
      schedule: config.POLL_SCHEDULE,
      maxAgeMs: config.BATCH_MAX_AGE,
      chunk: config.POLL_CHUNK,
      tickMs: config.POLL_TICK,
      leaseMs: config.POLL_LEASE,
      onChanges: () => relay.kick(),
    });
    return {
      async stop() {
        await loop.stop();
        await relay.stop();
      },
    };
  },
};
