import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { insertBatchLog, withTransaction } from '@batchline/db';
import { NEVER_RETRYABLE_CODES, selectRetryRequests } from '@batchline/domain';
import type { BatchProvider } from '@batchline/providers';
import { ApiError } from '../api-error.ts';
import type { RetryResult } from '../api-schema.ts';
import { audit, type RequestContext } from '../request-context.ts';
import {
  claimRetry,
  completeRetry,
  getRetrySource,
  listFailedRequests,
  listSucceededInJob,
  type RetrySource,
  releaseRetry,
} from '../store/batch-retries.ts';
import { listInLiveRound } from '../store/retry-rounds.ts';
import { type ActionDeps, batchNotFound, failureAnswer, providerOf } from './action-deps.ts';
import { type RequestLineSource, requestLineSource, writeRequestLines } from './request-lines.ts';

/** A retry claim left `submitting` this long belongs to a process that died mid-submission. */
const STALE_RETRY_MS = 15 * 60_000;

/** A batch is retried once: the answer naming the retry batch (null while it is being submitted). */
const alreadyRetried = (id: number, retryBatchLogId: number | null): ApiError =>
  new ApiError(
    409,
    'already_retried',
    retryBatchLogId === null
      ? `a retry of batch log ${id} is being submitted`
      : `batch log ${id} was retried as batch log ${retryBatchLogId}`,
    null,
    {},
    { retryBatchLogId },
  );

async function loadRetrySource(deps: ActionDeps, id: number): Promise<RetrySource> {
  const source = await getRetrySource(deps.pool, id);
  if (!source) throw batchNotFound(id);
  // Before its requests are chosen: those of a made retry are in its (live) batch, which would read as nothing left.
  if (source.retriedAs !== null) throw alreadyRetried(id, source.retriedAs);
  if (source.failedRequests === 0) {
    throw new ApiError(409, 'nothing_to_retry', `batch log ${id} has no failed requests`);
  }
  return source;
}

/** Claims the one retry of batch `id`, with its `started` audit record, or throws why it cannot be retried. */
async function claimAudited(deps: ActionDeps, context: RequestContext, id: number): Promise<void> {
  await withTransaction(deps.pool, async (client) => {
    const claim = await claimRetry(client, id, context.principal!.actor, STALE_RETRY_MS);
    if (!claim.claimed) {
      if (claim.reason === 'not_found') throw batchNotFound(id);
      if (claim.reason === 'not_final') {
        throw new ApiError(
          409,
          'batch_not_final',
          `batch log ${id} is still pending; retry it once it is final`,
        );
      }
      throw alreadyRetried(id, claim.retryBatchLogId);
    }
    await audit(client, context, { action: 'batch.retry', target: String(id), outcome: 'started' });
  });
}

/** The batch a retry created at the provider, and what it resubmitted. */
interface Resubmission {
  batchId: string;
  inputFileId: string | null;
  /** The custom_ids it resubmitted: in a live round while its batch is pending. */
  customIds: readonly string[];
  notResubmitted: number;
}

/**
 * The failed requests of the batch a manual retry resubmits: those of the codes asked for (patterns allowed), else
 * those the job's retry policy retries (every failure for a batch outside any job), never `invalid_custom_id`, and
 * never one that already succeeded in another batch of its job, never one out in a live round of its job (a
 * pending retry batch). The batch is final and retried at most once (the claim).
 */
async function requestsToRetry(deps: ActionDeps, source: RetrySource, codes: readonly string[] | null) {
  const failed = await listFailedRequests(deps.pool, source.id);
  const succeeded =
    source.batchJobId === null ? new Set<string>() : await listSucceededInJob(deps.pool, source.batchJobId);
  const chosenCodes =
    codes ??
    source.policyCodes ??
    failed.flatMap(({ errorCode }) =>
      errorCode === null || NEVER_RETRYABLE_CODES.includes(errorCode) ? [] : [errorCode],
    );
  const inLiveRound =
    source.batchJobId === null ? new Set<string>() : await listInLiveRound(deps.pool, source.batchJobId);
  const wanted = new Set(selectRetryRequests({ codes: chosenCodes }, failed, succeeded, inLiveRound));
  if (wanted.size === 0) {
    throw new ApiError(
      409,
      'nothing_to_retry',
      codes === null
        ? `batch log ${source.id} has no failed requests its retry policy retries`
        : `batch log ${source.id} has no failed requests of the codes ${codes.join(', ')} left to retry`,
    );
  }
  return wanted;
}

/** Creates the retry batch from the lines of the chosen failed requests, read from `lineSource`. */
async function resubmitFailedRequests(
  deps: ActionDeps,
  provider: BatchProvider,
  source: RetrySource,
  lineSource: RequestLineSource,
  wanted: ReadonlySet<string>,
  directory: string,
): Promise<Resubmission> {
  const path = join(directory, 'requests.jsonl');
  const { written, endpoint } = await writeRequestLines(deps, provider, source, lineSource, wanted, path);
  if (written.size === 0) {
    throw new ApiError(
      409,
      'nothing_to_retry',
      lineSource.kind === 'recorded'
        ? `none of the ${wanted.size} failed requests of batch log ${source.id} has a recorded input`
        : `none of the ${wanted.size} failed requests of batch log ${source.id} has a line in its input file`,
    );
  }
  const batch = await provider.uploadAndCreateBatch({
    inputPath: path,
    endpoint,
    metadata: { job_type: source.jobType, source: 'batchline', retry_of: source.batchId },
  });
  return {
    batchId: batch.id,
    inputFileId: batch.inputFileId,
    customIds: [...written],
    notResubmitted: wanted.size - written.size,
  };
}

/** Records the retry batch, links it to the original and audits the success, in one transaction. */
async function recordRetry(
  deps: ActionDeps,
  context: RequestContext,
  source: RetrySource,
  provider: BatchProvider,
  retry: Resubmission,
  codes: readonly string[] | null,
): Promise<RetryResult> {
  const id = await withTransaction(deps.pool, async (client) => {
    const logged = await insertBatchLog(client, {
      provider: provider.name,
      batchId: retry.batchId,
      model: source.model,
      jobType: source.jobType,
      totalSentences: retry.customIds.length,
      inputFileId: retry.inputFileId,
      firstPollDelayMs: deps.firstPollDelayMs,
      // The next round of the original's job, linked to the batch it retries.
      ...(source.batchJobId === null
        ? {}
        : {
            job: {
              batchJobId: source.batchJobId,
              partIndex: null,
              parentBatchLogId: source.id,
              retryRound: source.retryRound + 1,
            },
          }),
    });
    await completeRetry(client, source.id, logged.id, retry.customIds);
    await audit(client, context, {
      action: 'batch.retry',
      target: String(source.id),
      outcome: 'success',
      statusCode: 201,
      details: {
        retryBatchLogId: logged.id,
        providerBatchId: retry.batchId,
        requests: retry.customIds.length,
        codes,
      },
    });
    return logged.id;
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: 'retry', outcome: 'success' });
  deps.log.info(
    { batchLogId: source.id, retryBatchLogId: id, requests: retry.customIds.length },
    'failed requests resubmitted',
  );
  return {
    id,
    batchId: retry.batchId,
    retryOf: source.id,
    requests: retry.customIds.length,
    notResubmitted: retry.notResubmitted,
  };
}

/** Gives the claim up after a failed retry, with the failure's audit record; returns the answer to throw. */
async function releaseAudited(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
  error: unknown,
): Promise<ApiError> {
  const answer = failureAnswer(deps, error);
  await withTransaction(deps.pool, async (client) => {
    await releaseRetry(client, id);
    await audit(client, context, {
      action: 'batch.retry',
      target: String(id),
      outcome: 'failed',
      statusCode: answer.status,
      details: { code: answer.code },
    });
  });
  context.audited = true;
  deps.metrics.actions.inc({ action: 'retry', outcome: 'failed' });
  return answer;
}

/**
 * Resubmits the failed requests of a final batch (of `codes` when given, else those its job's retry policy
 * retries) as a new batch linked to it: the next retry round of its job. The original request lines are rebuilt
 * from the inputs `batchline submit` recorded for its job, or, for an adopted batch, read from the provider's input
 * file (requestLineSource chooses). The claim and its audit record commit before the provider is called (no action without
 * its audit record; concurrent requests cannot submit twice); the outcome is a second record, committed with the
 * new batch log or with the claim's release. The admin API and `batchline retry` both come here.
 */
export async function retryFailedRequests(
  deps: ActionDeps,
  context: RequestContext,
  id: number,
  codes: readonly string[] | null = null,
): Promise<RetryResult> {
  const source = await loadRetrySource(deps, id);
  const provider = providerOf(deps, source.provider);
  const wanted = await requestsToRetry(deps, source, codes);
  const lineSource = await requestLineSource(deps, source);
  await claimAudited(deps, context, id);

  const directory = await mkdtemp(join(tmpdir(), 'batchline-retry-'));
  let created: Resubmission | null = null;
  try {
    created = await resubmitFailedRequests(deps, provider, source, lineSource, wanted, directory);
    return await recordRetry(deps, context, source, provider, created, codes);
  } catch (error) {
    if (created !== null) {
      // The provider has the batch but it was not recorded: `batchline track` adopts it.
      deps.log.error(
        { err: error, batchLogId: id, providerBatchId: created.batchId },
        'retry batch created but not recorded',
      );
    }
    throw await releaseAudited(deps, context, id, error);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
