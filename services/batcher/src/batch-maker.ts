import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertBatchJob, insertBatchLog, type Pool, withTransaction } from '@batchline/db';
import { type JobTypeSet, requestIdFromText } from '@batchline/job-types';
import type { Logger } from '@batchline/logging';
import { type BatchProvider, type ProviderBatch, ProviderError } from '@batchline/providers';
import { announceRefusal } from './announcements.ts';
import {
  lockPlannedBatch,
  markRecorded,
  markRefused,
  type PlannedBatch,
  releaseLease,
} from './store/planned-batches.ts';
import { readBatchLines, requeueRequests } from './store/queue.ts';

/** Lines read from Postgres at a time while the request file is written (the file is streamed, never held). */
const PAGE = 5_000;

/** The metadata key of a batchline batch's idempotency key (also `batcher_batches.idempotency_key`). */
export const IDEMPOTENCY_METADATA_KEY = 'batchline_key';

/** Where a test stops a batch's making as a crash would: after the provider created it, before it is recorded. */
export type CrashPoint = (stage: 'created', batch: ProviderBatch) => Promise<void>;

export interface BatchMakerDeps {
  pool: Pool;
  provider: BatchProvider;
  jobTypes: JobTypeSet;
  log: Logger;
  service: string;
  firstPollDelayMs: number;
  crashPoint?: CrashPoint;
}

export type MakeOutcome =
  | { outcome: 'recorded'; batchLogId: number; providerBatchId: string }
  | { outcome: 'refused'; reason: string }
  /** Recorded meanwhile by another batcher that took the batch over: ours was a duplicate, cancelled. */
  | { outcome: 'duplicate' }
  /** The provider could not be reached or failed: the planned batch is reconciled at a later tick. */
  | { outcome: 'deferred'; reason: string };

/** The planned batch's request file: its lines in queue order, streamed from Postgres to disk. */
async function writeRequestFile(pool: Pool, batch: PlannedBatch, path: string): Promise<string[]> {
  const out = createWriteStream(path);
  const requestIds: string[] = [];
  try {
    let afterId = 0;
    for (;;) {
      const page = await readBatchLines(pool, batch.id, afterId, PAGE);
      for (const row of page) {
        if (!out.write(`${row.line}\n`)) await once(out, 'drain');
        requestIds.push(row.requestId);
      }
      if (page.length < PAGE) break;
      afterId = page.at(-1)!.id;
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return requestIds;
}

/**
 * Records a batch the provider created for a planned batch: its job (origin 'batcher'), its batch log with the
 * request ids (the poller takes it from there) and the planned batch's settlement, in one transaction. When another
 * batcher recorded the planned batch first, this provider batch is a duplicate and is cancelled.
 */
export async function recordCreatedBatch(
  deps: BatchMakerDeps,
  batch: PlannedBatch,
  created: ProviderBatch,
): Promise<MakeOutcome> {
  const jobType = deps.jobTypes.named(batch.jobType);
  const recorded = await withTransaction(deps.pool, async (client) => {
    if (!(await lockPlannedBatch(client, batch.id))) return null;
    const requestIds: (string | number)[] = [];
    for (let afterId = 0; ; ) {
      const page = await readBatchLines(client, batch.id, afterId, PAGE);
      for (const row of page) requestIds.push(requestIdFromText(jobType, row.requestId)!);
      if (page.length < PAGE) break;
      afterId = page.at(-1)!.id;
    }
    const batchJobId = await insertBatchJob(client, {
      jobType: batch.jobType,
      provider: created.provider,
      model: batch.model,
      origin: 'batcher',
      totalRequests: requestIds.length,
    });
    const { id } = await insertBatchLog(client, {
      provider: created.provider,
      batchId: created.id,
      model: batch.model,
      jobType: batch.jobType,
      totalSentences: requestIds.length,
      inputFileId: created.inputFileId,
      firstPollDelayMs: deps.firstPollDelayMs,
      requestIds: requestIds as readonly number[] | readonly string[],
      job: { batchJobId, partIndex: 0, parentBatchLogId: null, retryRound: 0 },
    });
    await markRecorded(client, batch.id, { providerBatchId: created.id, batchJobId, batchLogId: id });
    return id;
  });
  if (recorded === null) {
    deps.log.warn({ plannedBatch: batch.id, providerBatchId: created.id }, 'duplicate batch cancelled');
    await deps.provider.cancelBatch(created.id).catch((error: unknown) => {
      deps.log.error({ err: error, providerBatchId: created.id }, 'duplicate batch not cancelled');
    });
    return { outcome: 'duplicate' };
  }
  deps.log.info(
    {
      plannedBatch: batch.id,
      batchLogId: recorded,
      providerBatchId: created.id,
      requests: batch.requestCount,
    },
    'batch created',
  );
  return { outcome: 'recorded', batchLogId: recorded, providerBatchId: created.id };
}

/** A refusal of the request itself (400/413/422): sending the same batch again would be refused again. */
const isRefusal = (error: unknown): error is ProviderError =>
  error instanceof ProviderError && error.kind === 'bad_request';

/**
 * Uploads a planned batch's request file and creates the batch with its idempotency key in the metadata, then
 * records it. A refusal puts its requests back in the queue and says so (ops message); a failure to reach the
 * provider leaves it planned, its lease given up, for the next tick's reconciliation.
 */
export async function makePlannedBatch(deps: BatchMakerDeps, batch: PlannedBatch): Promise<MakeOutcome> {
  const jobType = deps.jobTypes.named(batch.jobType);
  const dir = await mkdtemp(join(tmpdir(), 'batchline-batcher-'));
  let created: ProviderBatch;
  try {
    const path = join(dir, `batch-${batch.id}.jsonl`);
    await writeRequestFile(deps.pool, batch, path);
    created = await deps.provider.uploadAndCreateBatch({
      inputPath: path,
      endpoint: jobType.batchEndpoint(deps.provider.name),
      metadata: {
        [IDEMPOTENCY_METADATA_KEY]: batch.idempotencyKey,
        job_type: batch.jobType,
        source: 'batchline-batcher',
      },
    });
  } catch (error) {
    if (isRefusal(error)) return refuse(deps, batch, error.message);
    await releaseLease(deps.pool, batch.id);
    deps.log.warn({ err: error, plannedBatch: batch.id }, 'batch not created; reconciled at the next tick');
    return { outcome: 'deferred', reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await deps.crashPoint?.('created', created);
  return recordCreatedBatch(deps, batch, created);
}

/** The provider refused the batch: its requests go back to the queue, the refusal is announced once. */
async function refuse(deps: BatchMakerDeps, batch: PlannedBatch, reason: string): Promise<MakeOutcome> {
  await withTransaction(deps.pool, async (client) => {
    if (!(await lockPlannedBatch(client, batch.id))) return;
    await requeueRequests(client, batch.id);
    await markRefused(client, batch.id, { reason });
    await announceRefusal(client, deps.service, batch, reason);
  });
  deps.log.warn({ plannedBatch: batch.id, reason }, 'batch refused; its requests are queued again');
  return { outcome: 'refused', reason };
}
