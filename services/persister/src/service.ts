import { Counter, Histogram } from '@batchline/metrics';
import { startOutboxRelay } from '@batchline/outbox';
import type { ServiceDefinition } from '@batchline/runtime';
import { traceHeaders } from '@batchline/telemetry';
import { applyResultsChunk } from './store/apply-chunk.ts';

/**
 * The persister: applies each result chunk in one transaction (ledger row, COPY of outcomes and associations,
 * counts) and, when the last chunk of a batch commits, sets the final status and enqueues `batch.finalized`.
 * It acks only after the commit (the bus runner acks when the handler resolves).
 */
export const persisterService: ServiceDefinition = {
  name: 'persister',
  defaultHealthPort: 9403,
  async start({ config, log, pool, bus, metrics }) {
    const chunkDuration = new Histogram({
      name: 'batchline_persister_chunk_duration_seconds',
      help: 'Time to apply one result chunk, by whether it was applied or had landed before',
      labelNames: ['outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [metrics],
    });
    const rowsWritten = new Counter({
      name: 'batchline_persister_rows_written_total',
      help: 'Rows written by applied chunks: outcomes (batch_request_results) and associations',
      labelNames: ['kind'],
      registers: [metrics],
    });
    const relay = startOutboxRelay({ pool, publisher: bus, log });
    const consumption = bus.consume(
      'persister',
      async (chunk) => {
        const started = Date.now();
        // Should this chunk complete the batch, `batch.finalized` continues this chunk's trace.
        const { applied, finalized, written } = await applyResultsChunk(pool, chunk, {
          finalizedEventHeaders: traceHeaders(),
        });
        chunkDuration.observe(
          { outcome: applied ? 'applied' : 'already_applied' },
          (Date.now() - started) / 1000,
        );
        rowsWritten.inc({ kind: 'outcomes' }, written.outcomes);
        rowsWritten.inc({ kind: 'associations' }, written.associations);
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
