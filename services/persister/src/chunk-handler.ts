import { type EventHandler, PoisonMessageError } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import type { JobTypeSet } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import { Counter, Histogram, type Registry } from '@batchline/metrics';
import type { OutboxRelay } from '@batchline/outbox';
import { traceHeaders } from '@batchline/telemetry';
import { applyResultsChunk } from './store/apply-chunk.ts';
import { MalformedChunkError } from './store/landing-plan.ts';

export interface ChunkHandlerDeps {
  pool: Pool;
  log: Logger;
  metrics: Registry;
  /** The job types in force: a chunk lands as the job type it names. */
  jobTypes: JobTypeSet;
  /** Kicked when a chunk finalized its batch, so that `batch.finalized` goes out without waiting for a poll. */
  relay: OutboxRelay;
}

/**
 * Handles one `batch.results.parsed` chunk: applies it as the job type it names (see `applyResultsChunk`),
 * measures how long that took and what it wrote, and logs a batch it finalized. It resolves only after the
 * commit, and the bus runner acks then. A chunk whose rows do not fit its job type is dead-lettered at once; one
 * of a job type not declared here is retried (the declaration may come with a restart), then dead-lettered.
 */
export function chunkHandler({
  pool,
  log,
  metrics,
  jobTypes,
  relay,
}: ChunkHandlerDeps): EventHandler<'persister'> {
  const chunkDuration = new Histogram({
    name: 'batchline_persister_chunk_duration_seconds',
    help: 'Time to apply one result chunk, by whether it was applied or had landed before',
    labelNames: ['outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics],
  });
  const rowsWritten = new Counter({
    name: 'batchline_persister_rows_written_total',
    help: "Rows written by applied chunks: outcomes (batch_request_results) and associations (the job type's target rows)",
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
    const jobType = jobTypes.named(chunk.jobType);
    const { applied, finalized, written } = await applyResultsChunk(pool, jobType, chunk, {
      finalizedEventHeaders: traceHeaders(delivery.traceContext),
    }).catch((error: unknown) => {
      if (!(error instanceof MalformedChunkError)) throw error;
      throw new PoisonMessageError(
        `chunk ${chunk.chunkSeq} of batch log ${chunk.batchLogId} (${chunk.jobType}): ${error.message}`,
        { cause: error },
      );
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
        jobType: chunk.jobType,
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
