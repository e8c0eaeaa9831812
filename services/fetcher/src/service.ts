import { childTraceparent, PoisonMessageError, Subjects, TransientError } from '@batchline/bus';
import { getBatchLog, loadViewpointIds } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import { createOpenAIProvider, ProviderError } from '@batchline/providers';
import type { ServiceDefinition } from '@batchline/runtime';
import { fetchResults } from './fetch-results.ts';

/** Chunks stay far below NATS's default 1 MiB max payload whatever the line sizes. */
const MAX_CHUNK_BYTES = 512 * 1024;
/** Chunk publishes awaiting their PubAck at once. */
const PUBLISH_WINDOW = 16;

const isGone = (error: unknown) => error instanceof ProviderError && error.kind === 'not_found';

/** The fetcher: on a terminal status, streams the result files and publishes validated chunks. */
export const fetcherService: ServiceDefinition = {
  name: 'fetcher',
  defaultHealthPort: 9402,
  requires: ['OPENAI_API_KEY'],
  async start({ config, log, pool, bus }) {
    const provider = createOpenAIProvider({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL });
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
        if (event.provider !== 'openai') {
          throw new PoisonMessageError(`provider ${event.provider} is not supported by this fetcher`);
        }
        const viewpoints = await loadViewpointIds(pool);
        const started = Date.now();
        try {
          const result = await fetchResults(
            {
              files: provider,
              isKnownViewpoint: (id) => viewpoints.has(id),
              publish: async (chunk) => {
                await bus.publish(Subjects.resultsParsed, chunk, {
                  msgId: `results:${chunk.batchLogId}:${chunk.chunkSeq}`,
                  headers: { traceparent: childTraceparent(message.traceparent) },
                });
              },
              maxRecords: config.RESULTS_CHUNK_RECORDS,
              maxBytes: MAX_CHUNK_BYTES,
              window: PUBLISH_WINDOW,
              log,
            },
            event,
            isGone,
          );
          log.info(
            {
              batchLogId: event.batchLogId,
              providerBatchId: event.providerBatchId,
              chunks: result.chunkCount,
              records: result.records,
              invalidLines: result.summary.invalidLines.count,
              missingResults: result.summary.missingResults,
              ms: Date.now() - started,
            },
            'results published',
          );
        } catch (error) {
          if (error instanceof ProviderError)
            throw new TransientError(`downloading results failed: ${error.message}`, { cause: error });
          throw error;
        }
      },
      { concurrency: config.FETCHER_CONCURRENCY },
    );
    return { stop: () => consumption.stop() };
  },
};
