import { applyResultsChunk } from '@batchline/db';
import { startOutboxRelay } from '@batchline/outbox';
import type { ServiceDefinition } from '@batchline/runtime';
import { traceHeaders } from '@batchline/telemetry';

/**
 * The persister: applies each result chunk in one transaction (ledger row, COPY of outcomes and associations,
 * counts) and, when the last chunk of a batch commits, sets the final status and enqueues `batch.finalized`.
 * It acks only after the commit (the bus runner acks when the handler resolves).
 */
export const persisterService: ServiceDefinition = {
  name: 'persister',
  defaultHealthPort: 9403,
  async start({ config, log, pool, bus }) {
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const consumption = bus.consume(
      'persister',
      async (chunk) => {
        const started = Date.now();
        // Should this chunk complete the batch, `batch.finalized` continues this chunk's trace.
        const { applied, finalized } = await applyResultsChunk(pool, chunk, {
          finalizedEventHeaders: traceHeaders(),
        });
        log.debug(
          {
            batchLogId: chunk.batchLogId,
            chunkSeq: chunk.chunkSeq,
            records: chunk.records.length,
            applied,
            ms: Date.now() - started,
          },
          applied ? 'chunk applied' : 'chunk already applied',
        );
        if (finalized) {
          log.info(
            {
              batchLogId: finalized.batchLogId,
              status: finalized.status,
              processed: finalized.processedSentences,
              failed: finalized.failedSentences,
              associations: finalized.associations,
            },
            'batch finalized',
          );
          relay.kick();
        }
      },
      { concurrency: config.PERSISTER_CONCURRENCY },
    );
    return {
      async stop() {
        await consumption.stop();
        await relay.stop();
      },
    };
  },
};
