import type { EventHandler } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import { Counter, Histogram, type Registry } from '@batchline/metrics';
import type { OutboxRelay } from '@batchline/outbox';
import { traceHeaders } from '@batchline/telemetry';
import { applyResultsChunk } from './store/apply-chunk.ts';

export interface ChunkHandlerDeps {
  pool: Pool;
  log: Logger;
  metrics: Registry;
  /** Kicked when a chunk finalized its batch, so that `batch.finalized` goes out without waiting for a poll. */
  relay: OutboxRelay;
}

/**
 * Handles one `batch.results.parsed` chunk: applies it (see `applyResultsChunk`), measures how long that took and
 * what it wrote, and logs a batch it finalized. It resolves only after the commit, and the bus runner acks then.
 */
export function chunkHandler({ pool, log, metrics, relay }: ChunkHandlerDeps): EventHandler<'persister'> {
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
  const rowsPerSecond = new Histogram({
    name: 'batchline_persister_chunk_rows_per_second',
    help: 'Rows (outcomes and associations) an applied chunk wrote per second of its transaction',
    buckets: [100, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000],
    registers: [metrics],
  });
  return async (chunk, delivery) => {
    const started = Date.now();
    const startedPrecisely = performance.now();
    // Should this chunk complete the batch, `batch.finalized` continues this chunk's trace.
    const { applied, finalized, written } = await applyResultsChunk(pool, chunk, {
      finalizedEventHeaders: traceHeaders(delivery.traceContext),
    });
    chunkDuration.observe(
      { outcome: applied ? 'applied' : 'already_applied' },
      (Date.now() - started) / 1000,
    );
    const seconds = (performance.now() - startedPrecisely) / 1000;
    const rows = written.outcomes + written.associations;
    if (applied && rows > 0 && seconds > 0) rowsPerSecond.observe(rows / seconds);
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
  };
}
