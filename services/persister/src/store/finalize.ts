import { enqueueOutbox } from '@batchline/db';
import { BatchStatus, type ProviderName } from '@batchline/domain';
import { type BatchFinalizedEvent, type ResultsSummary, Subjects, validateEvent } from '@batchline/events';
import type pg from 'pg';

/** How many of the most frequent error codes the `batch.finalized` event carries. */
const TOP_ERROR_COUNT = 5;

/** What `log_details` says about a batch once its results landed: why it ended as it did. */
interface FinalLogDetails {
  reason: ResultsSummary['reason'];
  providerStatus: string;
  providerErrors: ResultsSummary['providerErrors'];
  linesRead: ResultsSummary['linesRead'];
  invalidLines: ResultsSummary['invalidLines'];
  duplicateLines: number;
  unexpectedLines: number;
  missingResults: number;
  inputUnavailable: string | null;
  downloadError: string | null;
  /** Failed requests by error code. */
  errorCodes: Record<string, number>;
}

interface FinalizedRow {
  batch_id: string;
  provider: ProviderName;
  total_sentences: number;
  processed_sentences: number;
  failed_sentences: number;
  created_at: Date;
  provider_terminal_at: Date | null;
  results_landed_at: Date;
}

/**
 * Sets the final status of a batch whose chunks have all landed, and enqueues its `batch.finalized` event in
 * the same transaction. The caller holds the batch row lock. Returns null when the batch was already final.
 */
export async function finalizeBatch(
  client: pg.ClientBase,
  batchLogId: number,
  summary: ResultsSummary,
  eventHeaders: Record<string, string>,
): Promise<BatchFinalizedEvent | null> {
  const { rows: errorCodeRows } = await client.query<{ code: string; count: number }>(
    `SELECT error_code AS code, count(*)::int AS count FROM batch_request_results
     WHERE batch_log_id = $1 AND outcome = 'failed' AND error_code IS NOT NULL
     GROUP BY error_code ORDER BY count(*) DESC, error_code`,
    [batchLogId],
  );
  // The landing time runs from the first chunk's transaction to now, this (last) one's commit nearly.
  const { rows: ledgerRows } = await client.query<{ associations: number; landing_seconds: number }>(
    `SELECT COALESCE(sum(associations), 0)::int AS associations,
            COALESCE(extract(epoch FROM clock_timestamp() - min(applied_at)), 0)::float8 AS landing_seconds
       FROM batch_result_chunks WHERE batch_log_id = $1`,
    [batchLogId],
  );
  const { rows } = await client.query<FinalizedRow>(
    `UPDATE batch_jobs_vp_logs
     SET status = $2, results_landed_at = now(), log_details = COALESCE(log_details, '{}'::jsonb) || $3::jsonb
     WHERE id = $1 AND status = ${BatchStatus.pending}
     RETURNING batch_id, provider, total_sentences, processed_sentences, failed_sentences, created_at,
               provider_terminal_at, results_landed_at`,
    [batchLogId, summary.finalStatus, JSON.stringify(finalLogDetails(summary, errorCodeRows))],
  );
  const row = rows[0];
  if (!row) return null;

  // Checked before it is enqueued: a bad outbox row would stall the relay.
  const event = validateEvent(Subjects.batchFinalized, {
    batchLogId,
    provider: row.provider,
    providerBatchId: row.batch_id,
    status: summary.finalStatus,
    reason: summary.reason,
    providerStatus: summary.providerStatus,
    totalSentences: row.total_sentences,
    processedSentences: row.processed_sentences,
    failedSentences: row.failed_sentences,
    associations: ledgerRows[0]!.associations,
    topErrors: errorCodeRows.slice(0, TOP_ERROR_COUNT),
    invalidLines: summary.invalidLines.count,
    submittedAt: row.created_at.toISOString(),
    providerTerminalAt: row.provider_terminal_at?.toISOString() ?? null,
    landedAt: row.results_landed_at.toISOString(),
    ...landingThroughput(summary, row, ledgerRows[0]!.landing_seconds),
  });
  await enqueueOutbox(client, {
    subject: Subjects.batchFinalized,
    msgId: `finalized:${batchLogId}`,
    payload: event,
    headers: eventHeaders,
  });
  return event;
}

/** The download size and the landing throughput of the batch, when the fetch measured its download. */
export function landingThroughput(
  summary: ResultsSummary,
  row: Pick<FinalizedRow, 'processed_sentences' | 'failed_sentences'>,
  landingSeconds: number,
): Pick<BatchFinalizedEvent, 'throughput'> {
  if (!summary.download) return {};
  const landedRows = row.processed_sentences + row.failed_sentences;
  return {
    throughput: {
      downloadBytes: summary.download.bytes,
      landedRows,
      // At least a millisecond, so that a tiny batch has a finite rate.
      landedRowsPerSecond: landedRows / Math.max(0.001, landingSeconds),
    },
  };
}

function finalLogDetails(
  summary: ResultsSummary,
  errorCodeRows: readonly { code: string; count: number }[],
): FinalLogDetails {
  return {
    reason: summary.reason,
    providerStatus: summary.providerStatus,
    providerErrors: summary.providerErrors,
    linesRead: summary.linesRead,
    invalidLines: summary.invalidLines,
    duplicateLines: summary.duplicateLines,
    unexpectedLines: summary.unexpectedLines,
    missingResults: summary.missingResults,
    inputUnavailable: summary.inputUnavailable,
    downloadError: summary.downloadError,
    errorCodes: Object.fromEntries(errorCodeRows.map((row) => [row.code, row.count])),
  };
}
