import { type Bus, PoisonMessageError, TransientError } from '@batchline/bus';
import { PROVIDER_API_KEYS } from '@batchline/config';
import { getBatchLog, loadRequestCustomIds } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { opsErrorEvent, type StatusChangedEvent } from '@batchline/events';
import type { Logger } from '@batchline/logging';
import { Counter, registerProviderCallHistogram } from '@batchline/metrics';
import { configuredProviders, ProviderError, timedProviders } from '@batchline/providers';
import { defineService } from '@batchline/runtime';
import type { Context } from '@opentelemetry/api';
import { fetchResults } from './fetch-results.ts';
import { createFetchMetrics } from './metrics.ts';
import { fetcherSettings } from './settings.ts';
import { loadCatalogueKeys } from './store/catalogue-keys.ts';

/** Chunks stay far below NATS's default 1 MiB max payload whatever the line sizes. */
const MAX_CHUNK_BYTES = 512 * 1024;
/** Chunk publishes awaiting their PubAck at once. */
const PUBLISH_WINDOW = 16;
/** A broken download is reopened this many times within one fetch before the event is retried later. */
const DOWNLOAD_RETRIES = 3;
const DOWNLOAD_RETRY_DELAY_MS = 500;
/**
 * Encoded records held while the input file is still being read. A 50,000-request batch holds about 3 MiB, so
 * the result download normally never waits for the input file.
 */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

/** Deliveries of one terminal event whose download failed before operators hear of it. */
const REPORT_AFTER_DELIVERIES = 3;

/**
 * Tells operators (through `ops.error`, announced once per batch) that a batch's result file cannot be read. A
 * failed announcement is logged and never fails the fetch.
 */
async function reportUnreadableResults(
  bus: Bus,
  log: Logger,
  delivery: { event: StatusChangedEvent; traceContext: Context },
  detail: string,
  nextStep = 'Check the provider status page and the fetcher log; the fetch is retried, and `batchline replay` re-runs it.',
) {
  const { event } = delivery;
  const message = opsErrorEvent({
    service: 'fetcher',
    kind: 'results_unreadable',
    severity: 'high',
    message: `The results of batch ${event.providerBatchId} (batch log ${event.batchLogId}) cannot be downloaded or read.`,
    provider: event.provider,
    batchLogId: event.batchLogId,
    providerBatchId: event.providerBatchId,
    detail,
    nextStep,
    occurrenceKey: `batch-${event.batchLogId}`,
  });
  const published = bus.publish(message.subject, message.payload, {
    msgId: message.msgId,
    parent: delivery.traceContext,
  });
  await published.catch((error: unknown) => {
    log.error({ err: error, batchLogId: event.batchLogId }, 'could not announce unreadable results');
  });
}

const isGone = (error: unknown) => error instanceof ProviderError && error.kind === 'not_found';
const isTransient = (error: unknown) => error instanceof ProviderError && error.transient;

/** The fetcher: on a terminal status, streams the result files and publishes validated chunks. */
export const fetcherService = defineService({
  name: 'fetcher',
  settings: fetcherSettings,
  defaultHealthPort: 9402,
  requires: [PROVIDER_API_KEYS],
  async start({ config, log, pool, bus, metrics, jobTypes }) {
    const chunksPublished = new Counter({
      name: 'batchline_fetcher_chunks_published_total',
      help: 'Result chunks published (acknowledged by JetStream), by provider',
      labelNames: ['provider'],
      registers: [metrics],
    });
    const providers = timedProviders(configuredProviders(config), registerProviderCallHistogram(metrics));
    const observeFetch = createFetchMetrics(metrics);
    const consumption = bus.consume(
      'fetcher',
      async (event, message) => {
        if (!event.terminal) return;
        const batch = await getBatchLog(pool, event.batchLogId);
        if (!batch) throw new PoisonMessageError(`batch log ${event.batchLogId} does not exist`);
        if (batch.status !== BatchStatus.pending) {
          log.info(
            { batchLogId: event.batchLogId, status: batch.status },
            'batch already final; nothing to fetch',
          );
          return;
        }
        const jobType = jobTypes.get(batch.jobType);
        if (!jobType) {
          // A fetcher started without the declaration: nothing can be read until it is restarted with it. The
          // event is retried (then dead-lettered, to redrive) and the poller re-publishes it while nothing lands.
          const problem = `its job type ${JSON.stringify(batch.jobType)} is not declared here (declared: ${jobTypes
            .all()
            .map((declared) => declared.name)
            .join(', ')})`;
          await reportUnreadableResults(
            bus,
            log,
            { event, traceContext: message.traceContext },
            problem,
            'Add the declaration to BATCHLINE_JOB_TYPES of every service and restart them; the fetch is retried, and `batchline dlq redrive` re-runs a dead-lettered one.',
          );
          throw new TransientError(`batch log ${event.batchLogId}: ${problem}`);
        }
        const catalogueKeys = await loadCatalogueKeys(pool, jobType.catalogue);
        const started = Date.now();
        try {
          const result = await fetchResults(
            {
              // A provider without an API key fails here, and the message is retried later.
              files: providers.get(event.provider),
              recordedRequests: (batchLogId) =>
                loadRequestCustomIds(pool, batchLogId, jobType.declaration.customIdPrefix),
              jobType,
              isCatalogueKey: (key) => catalogueKeys.has(key),
              publish: async (chunk) => {
                await bus.publishResultsChunk(chunk, {
                  msgId: `results:${chunk.batchLogId}:${chunk.chunkSeq}`,
                  parent: message.traceContext,
                });
                chunksPublished.inc({ provider: event.provider });
              },
              isGone,
              isTransient,
              maxRecords: config.RESULTS_CHUNK_RECORDS,
              maxBytes: MAX_CHUNK_BYTES,
              window: PUBLISH_WINDOW,
              downloadRetries: DOWNLOAD_RETRIES,
              retryDelayMs: DOWNLOAD_RETRY_DELAY_MS,
              maxHeldBytes: MAX_HELD_BYTES,
              log,
            },
            event,
          );
          observeFetch(event.provider, result.summary.download?.bytes ?? 0, result.timings.totalMs / 1000);
          log.info(
            {
              batchLogId: event.batchLogId,
              providerBatchId: event.providerBatchId,
              chunks: result.chunkCount,
              records: result.records,
              invalidLines: result.summary.invalidLines.count,
              missingResults: result.summary.missingResults,
              ms: Date.now() - started,
              ...result.timings,
            },
            'results published',
          );
          if (result.summary.downloadError !== null) {
            await reportUnreadableResults(
              bus,
              log,
              { event, traceContext: message.traceContext },
              result.summary.downloadError,
            );
          }
        } catch (error) {
          if (error instanceof ProviderError) {
            if (message.deliveryCount >= REPORT_AFTER_DELIVERIES) {
              await reportUnreadableResults(
                bus,
                log,
                { event, traceContext: message.traceContext },
                error.message,
              );
            }
            throw new TransientError(`downloading results failed: ${error.message}`, { cause: error });
          }
          throw error;
        }
      },
      { concurrency: config.FETCHER_CONCURRENCY },
    );
    return { stop: () => consumption.stop() };
  },
});
