import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BatchControlResult,
  claimRetry,
  completeRetry,
  getRetrySource,
  insertBatchLog,
  listFailedCustomIds,
  type Pool,
  type RetrySource,
  releaseRetry,
  setBatchPollingPaused,
  setBatchPollPriority,
  setPollingPaused,
  withTransaction,
} from '@batchline/db';
import { CHAT_COMPLETIONS_URL, LineSplitter, type ProviderName } from '@batchline/domain';
import type { Logger } from '@batchline/logging';
import { type BatchProvider, ProviderError } from '@batchline/providers';
import { ApiError } from './api-error.ts';
import type { MonitorMetrics } from './metrics.ts';
import { audit, type RequestContext } from './request-context.ts';

export interface ActionDeps {
  pool: Pool;
  log: Logger;
  metrics: MonitorMetrics;
  /** The provider adapters the monitor can act through, by provider name. */
  providers: Partial<Record<ProviderName, BatchProvider>>;
  /** When the poller first checks a batch the monitor submitted (the first POLL_SCHEDULE step). */
  firstPollDelayMs: number;
}

/** A retry claim left `submitting` this long belongs to a process that died mid-submission. */
const STALE_RETRY_MS = 15 * 60_000;

const notFound = (id: number) => new ApiError(404, 'batch_not_found', `batch log ${id} does not exist`, 'id');

function providerOf(deps: ActionDeps, provider: string): BatchProvider {
  const adapter = deps.providers[provider as ProviderName];
  if (!adapter) {
    throw new ApiError(
      409,
      'provider_not_configured',
      `the monitor has no ${provider} provider configured (its API key is not set), so it cannot act on this batch`,
    );
  }
  return adapter;
}

/** A failure as an answer: for the provider, what kind of failure, never the provider's own text. */
function failureAnswer(deps: ActionDeps, error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (!(error instanceof ProviderError)) {
    deps.log.error({ err: error }, 'admin action failed');
    return new ApiError(500, 'internal_error', 'the action failed; the monitor log says why');
  }
  deps.metrics.providerErrors.inc({ kind: error.kind, operation: error.operation });
  const what = `the provider's ${error.operation} failed (${error.kind}${error.status ? `, HTTP ${error.status}` : ''})`;
  if (error.kind === 'bad_request' || error.kind === 'not_found')
    return new ApiError(409, 'provider_refused', what);
  return new ApiError(502, 'provider_unavailable', what);
}

/**
 * Writes the lines of the provider's input file whose custom_id is in `wanted` to `path`, each once, as they
 * were. Returns how many it wrote and the endpoint they target.
 */
async function writeRequestLines(
  provider: BatchProvider,
  inputFileId: string,
  wanted: ReadonlySet<string>,
  path: string,
): Promise<{ written: number; endpoint: string }> {
  const out = createWriteStream(path);
  const seen = new Set<string>();
  let endpoint = CHAT_COMPLETIONS_URL;
  const pending: string[] = [];
  const splitter = new LineSplitter();
  const onLine = ({ text }: { text: string | null }) => {
    if (text === null || text.trim() === '') return;
    let line: { custom_id?: unknown; url?: unknown };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      return;
    }
    if (typeof line.custom_id !== 'string' || !wanted.has(line.custom_id) || seen.has(line.custom_id)) return;
    seen.add(line.custom_id);
    if (typeof line.url === 'string' && line.url.startsWith('/v1/')) endpoint = line.url;
    pending.push(`${text}\n`);
  };
  try {
    for await (const chunk of await provider.openFile(inputFileId)) {
      splitter.push(chunk as Buffer, onLine);
      for (const line of pending.splice(0)) if (!out.write(line)) await once(out, 'drain');
    }
    splitter.end(onLine);
    for (const line of pending.splice(0)) if (!out.write(line)) await once(out, 'drain');
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { written: seen.size, endpoint };
}

export interface RetryOutcome {
  id: number;
  batchId: string;
  retryOf: number;
  requests: number;
  /** Failed requests with no line in the input file (e.g. `invalid_custom_id`): they cannot be resubmitted. */
  notResubmitted: number;
}

async function loadRetrySource(deps: ActionDeps, id: number): Promise<RetrySource> {
  const source = await getRetrySource(deps.pool, id);
  if (!source) throw notFound(id);
  if (source.failedRequests === 0) {
    throw new ApiError(409, 'nothing_to_retry', `batch log ${id} has no failed requests`);
  }
  if (!source.inputFileId) {
    throw new ApiError(409, 'input_unavailable', `batch log ${id} has no recorded input file`);
  }
  return source;
}

/**
 * Resubmits the failed requests of a final batch as a new batch linked to it. The original request lines come
 * from the provider's input file. The claim and its audit record commit before the provider is called (no
 * action without its audit record; concurrent requests cannot submit twice); the outcome is a second record,
 * committed with the new batch log or with the claim's release.
 */
export async function retryFailedRequests(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
): Promise<RetryOutcome> {
  const source = await loadRetrySource(deps, id);
  const provider = providerOf(deps, source.provider);
  const target = String(id);
  await withTransaction(deps.pool, async (client) => {
    const claim = await claimRetry(client, id, context.principal!.actor, STALE_RETRY_MS);
    if (!claim.claimed) {
      if (claim.reason === 'not_found') throw notFound(id);
      if (claim.reason === 'not_final') {
        throw new ApiError(
          409,
          'batch_not_final',
          `batch log ${id} is still pending; retry it once it is final`,
        );
      }
      throw new ApiError(
        409,
        'already_retried',
        claim.retryBatchLogId === null
          ? `a retry of batch log ${id} is being submitted`
          : `batch log ${id} was retried as batch log ${claim.retryBatchLogId}`,
        null,
        {},
        { retryBatchLogId: claim.retryBatchLogId },
      );
    }
    await audit(client, context, { action: 'batch.retry', target, outcome: 'started' });
  });

  const directory = await mkdtemp(join(tmpdir(), 'batchline-retry-'));
  let createdBatchId: string | null = null;
  try {
    const failedIds = new Set(await listFailedCustomIds(deps.pool, id));
    const path = join(directory, 'requests.jsonl');
    const { written, endpoint } = await writeRequestLines(provider, source.inputFileId!, failedIds, path);
    if (written === 0) {
      throw new ApiError(
        409,
        'nothing_to_retry',
        `none of the ${failedIds.size} failed requests of batch log ${id} has a line in its input file`,
      );
    }
    const batch = await provider.uploadAndCreateBatch({
      inputPath: path,
      endpoint,
      metadata: { job_type: source.jobType, source: 'batchline', retry_of: source.batchId },
    });
    createdBatchId = batch.id;
    const outcome: RetryOutcome = {
      id: 0,
      batchId: batch.id,
      retryOf: id,
      requests: written,
      notResubmitted: failedIds.size - written,
    };
    await withTransaction(deps.pool, async (client) => {
      const logged = await insertBatchLog(client, {
        provider: provider.name,
        batchId: batch.id,
        model: source.model,
        jobType: source.jobType,
        totalSentences: written,
        inputFileId: batch.inputFileId,
        firstPollDelayMs: deps.firstPollDelayMs,
      });
      outcome.id = logged.id;
      await completeRetry(client, id, logged.id, written);
      await audit(client, context, {
        action: 'batch.retry',
        target,
        outcome: 'success',
        statusCode: 201,
        details: { retryBatchLogId: logged.id, providerBatchId: batch.id, requests: written },
      });
    });
    context.audited = true;
    deps.metrics.actions.inc({ action: 'retry', outcome: 'success' });
    deps.log.info(
      { batchLogId: id, retryBatchLogId: outcome.id, requests: written },
      'failed requests resubmitted',
    );
    return outcome;
  } catch (error) {
    if (createdBatchId !== null) {
      // The provider has the batch but it was not recorded: `batchline track` adopts it.
      deps.log.error(
        { err: error, batchLogId: id, providerBatchId: createdBatchId },
        'retry batch created but not recorded',
      );
    }
    const answer = failureAnswer(deps, error);
    await withTransaction(deps.pool, async (client) => {
      await releaseRetry(client, id);
      await audit(client, context, {
        action: 'batch.retry',
        target,
        outcome: 'failed',
        statusCode: answer.status,
        details: { code: answer.code },
      });
    });
    context.audited = true;
    deps.metrics.actions.inc({ action: 'retry', outcome: 'failed' });
    throw answer;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

export interface CancelOutcome {
  id: number;
  batchId: string;
  providerStatus: string;
}

/**
 * Cancels a pending batch at the provider. Its audit record commits (with the batch row lock, which checks that
 * it is still pending) before the call; the outcome is a second record. The poller then sees the batch cancelling
 * and cancelled, and whatever output it has still lands before it is marked failed (contract §3).
 */
export async function cancelBatch(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
): Promise<CancelOutcome> {
  const target = String(id);
  const batch = await withTransaction(deps.pool, async (client) => {
    const { rows } = await client.query<{
      status: number;
      provider: string;
      batch_id: string;
      provider_terminal_at: Date | null;
    }>(
      'SELECT status, provider, batch_id, provider_terminal_at FROM batch_jobs_vp_logs WHERE id = $1 FOR UPDATE',
      [id],
    );
    const row = rows[0];
    if (!row) throw notFound(id);
    if (row.status !== 1)
      throw new ApiError(409, 'batch_final', `batch log ${id} is final and cannot be cancelled`);
    if (row.provider_terminal_at !== null) {
      throw new ApiError(
        409,
        'provider_finished',
        `the provider has finished batch log ${id}; its results are landing`,
      );
    }
    providerOf(deps, row.provider);
    await audit(client, context, { action: 'batch.cancel', target, outcome: 'started' });
    return { provider: row.provider, batchId: row.batch_id };
  });
  const provider = providerOf(deps, batch.provider);
  try {
    const cancelled = await provider.cancelBatch(batch.batchId);
    await withTransaction(deps.pool, async (client) => {
      // Check it soon, so that the cancellation shows without waiting for the next scheduled check.
      await client.query(
        'UPDATE batch_jobs_vp_logs SET next_poll_at = LEAST(next_poll_at, now()) WHERE id = $1 AND status = 1',
        [id],
      );
      await audit(client, context, {
        action: 'batch.cancel',
        target,
        outcome: 'success',
        statusCode: 202,
        details: { providerBatchId: batch.batchId, providerStatus: cancelled.status },
      });
    });
    context.audited = true;
    deps.metrics.actions.inc({ action: 'cancel', outcome: 'success' });
    return { id, batchId: batch.batchId, providerStatus: cancelled.status };
  } catch (error) {
    const answer = failureAnswer(deps, error);
    await audit(deps.pool, context, {
      action: 'batch.cancel',
      target,
      outcome: 'failed',
      statusCode: answer.status,
      details: { code: answer.code },
    });
    context.audited = true;
    deps.metrics.actions.inc({ action: 'cancel', outcome: 'failed' });
    throw answer;
  }
}

function controlOutcome(result: BatchControlResult, id: number, what: string): void {
  if (result === 'not_found') throw notFound(id);
  if (result === 'final')
    throw new ApiError(409, 'batch_final', `batch log ${id} is final: ${what} does not apply`);
}

/** Pauses or resumes status checks of every batch (`id` null) or of one pending batch, audited in one transaction. */
export async function setPolling(
  deps: ActionDeps,
  context: RequestContext,
  paused: boolean,
  id: number | null,
): Promise<void> {
  const action = paused ? 'polling.pause' : 'polling.resume';
  await withTransaction(deps.pool, async (client) => {
    if (id === null) await setPollingPaused(client, paused, context.principal!.actor);
    else controlOutcome(await setBatchPollingPaused(client, id, paused), id, paused ? 'pausing' : 'resuming');
    await audit(client, context, {
      action,
      target: id === null ? 'all' : String(id),
      outcome: 'success',
      statusCode: 200,
    });
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: paused ? 'pause' : 'resume', outcome: 'success' });
}

/** Sets which pending batches the poller checks first, audited in one transaction. */
export async function setPriority(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
  priority: number,
): Promise<void> {
  await withTransaction(deps.pool, async (client) => {
    controlOutcome(await setBatchPollPriority(client, id, priority), id, 'a priority');
    await audit(client, context, {
      action: 'batch.priority',
      target: String(id),
      outcome: 'success',
      statusCode: 200,
      details: { priority },
    });
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: 'priority', outcome: 'success' });
}
