import { type Pool, withTransaction } from '@batchline/db';
import type { Logger } from '@batchline/logging';
import { outsideTraces } from '@batchline/telemetry';

/**
 * What the relay needs of the bus: a JetStream publish that resolves on the PubAck and dedupes by `msgId`. A row's
 * `headers` carry the trace context of the work that wrote it (`traceparent`), so its publish continues that trace.
 */
export interface OutboxPublisher {
  publishRaw(
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers: Record<string, string>,
  ): Promise<unknown>;
}

export interface OutboxRelayOptions {
  pool: Pool;
  publisher: OutboxPublisher;
  log: Logger;
  /** How often to look for unpublished rows when nobody kicks. */
  intervalMs?: number;
  /** Rows per round (one transaction). */
  batchSize?: number;
  /** Longest wait between attempts while publishing keeps failing. */
  maxRetryDelayMs?: number;
}

export interface OutboxRelay {
  /** Publish now (call it right after committing a transaction that enqueued an event). */
  kick(): void;
  /** Stops the relay after its current round. */
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  subject: string;
  msg_id: string;
  payload: unknown;
  headers: Record<string, string>;
}

const encoder = new TextEncoder();

/**
 * Publishes one round of unpublished rows, oldest first, and marks those that got their PubAck. Rows are locked
 * with SKIP LOCKED, so relays in several replicas share the work without publishing a row at the same time.
 * Stops at the first failed publish (keeping the order) and reports it with how many rows were published before.
 */
async function publishRound(
  pool: Pool,
  publisher: OutboxPublisher,
  batchSize: number,
): Promise<{ published: number; failure: { error: unknown } | null }> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<OutboxRow>(
      `SELECT id, subject, msg_id, payload, headers FROM outbox
       WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    const publishedIds: string[] = [];
    let failure: { error: unknown } | null = null;
    for (const row of rows) {
      try {
        await publisher.publishRaw(
          row.subject,
          encoder.encode(JSON.stringify(row.payload)),
          row.msg_id,
          row.headers,
        );
      } catch (error) {
        failure = { error };
        break;
      }
      publishedIds.push(row.id);
    }
    if (publishedIds.length > 0) {
      // Should this commit fail, the rows are published again with the same msg ids, which JetStream dedupes.
      await client.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [
        publishedIds,
      ]);
    }
    return { published: publishedIds.length, failure };
  });
}

/**
 * Relays the transactional outbox to the bus: every committed event is published at least once, in id order
 * within one relay, and marked after its PubAck. Published rows stay until the monitor's retention purge deletes
 * them (RETENTION_OUTBOX_DAYS). Failures (bus or database down) are logged and retried with a
 * growing delay; the relay itself never stops until `stop()`.
 */
export function startOutboxRelay({
  pool,
  publisher,
  log,
  intervalMs = 1_000,
  batchSize = 100,
  maxRetryDelayMs = 30_000,
}: OutboxRelayOptions): OutboxRelay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let kickedDuringRound = false;
  let consecutiveFailures = 0;

  const schedule = (delayMs: number): void => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(run, delayMs);
  };

  /** Publishes until a round finds fewer rows than a full batch; throws the first failure. */
  const drain = async (): Promise<void> => {
    while (!stopped) {
      const { published, failure } = await publishRound(pool, publisher, batchSize);
      if (failure) throw failure.error;
      if (published > 0) log.debug({ published }, 'outbox events published');
      if (published < batchSize) return;
    }
  };

  /** One attempt to drain; returns how long to wait before the next. */
  const attempt = async (): Promise<number> => {
    try {
      await drain();
      consecutiveFailures = 0;
      return intervalMs;
    } catch (err) {
      consecutiveFailures += 1;
      const retryInMs = Math.min(intervalMs * 2 ** (consecutiveFailures - 1), maxRetryDelayMs);
      log.warn({ err, consecutiveFailures, retryInMs }, 'outbox relay round failed; will retry');
      return retryInMs;
    }
  };

  const run = (): void => {
    if (stopped) return;
    if (round) {
      kickedDuringRound = true;
      return;
    }
    clearTimeout(timer);
    // A kick from inside a traced handler must not make the rows' publishes part of that handler's trace:
    // each publish continues the trace stored with its row.
    round = outsideTraces(attempt).then((delayMs) => {
      round = undefined;
      // A kick during a healthy round may have enqueued rows the round did not see; while failing, wait.
      const again = kickedDuringRound && consecutiveFailures === 0;
      kickedDuringRound = false;
      schedule(again ? 0 : delayMs);
    });
  };

  run();
  return {
    kick() {
      // While publishing fails, kicks would only turn the retry delay into a busy loop.
      if (consecutiveFailures === 0) run();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round;
    },
  };
}
