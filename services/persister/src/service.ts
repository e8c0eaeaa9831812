import { startOutboxRelay } from '@batchline/outbox';
import { defineService } from '@batchline/runtime';
import { chunkHandler } from './chunk-handler.ts';
import { persisterSettings } from './settings.ts';

/**
 * The persister: applies each result chunk in one transaction (ledger row, COPY of outcomes and of the job type's
 * rows, counts) and, when the last chunk of a batch commits, sets the final status and enqueues `batch.finalized`.
 * It acks only after the commit (the bus runner acks when the handler resolves).
 */
export const persisterService = defineService({
  name: 'persister',
  settings: persisterSettings,
  defaultHealthPort: 9403,
  async start({ config, log, pool, bus, metrics, jobTypes }) {
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const consumption = bus.consume('persister', chunkHandler({ pool, log, metrics, jobTypes, relay }), {
      concurrency: config.PERSISTER_CONCURRENCY,
    });
    return {
      async stop() {
        await consumption.stop();
        await relay.stop();
      },
    };
  },
});
