import type { StreamName } from '@batchline/bus';
import type { Pool } from '@batchline/db';
import { ResultErrorCode } from '@batchline/domain';
import type { Emulator } from '@batchline/emulator';
import type { BatchFinalizedEvent, StatusChangedEvent } from '@batchline/events';
import type { JobTypeSet } from '@batchline/job-types';
import type { SlackReceiver } from '@batchline/testing';
import { type BusProbe, CHAOS_MSG_ID_PREFIX } from './bus-probe.ts';
import { isDefaultJobType, landedRowsByBatch } from './job-types.ts';
import type { BatchExpectation, BatchState, SlackPost, StoredEventIds } from './observations.ts';
import type { SubmittedBatch } from './workload.ts';

/** The reason `log_details` must give for each way a batch ends at the provider. */
const REASON_BY_PROVIDER_STATUS: Record<string, string> = {
  completed: 'completed',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};

/** What the emulator says each submitted batch must have become (the oracle). */
export async function expectationsOf(
  emulator: Emulator,
  submitted: readonly SubmittedBatch[],
): Promise<BatchExpectation[]> {
  const expectations: BatchExpectation[] = [];
  for (const batch of submitted) {
    const base = {
      batchLogId: batch.batchLogId,
      providerBatchId: batch.providerBatchId,
      kind: batch.spec.kind,
      jobType: batch.spec.jobType,
    };
    if (batch.spec.kind === 'vanished') {
      // The provider answered 404 from the first check on: no result file was ever offered, so every request of
      // the (still readable) input file is a missing result.
      const requests = emulator.batch(batch.providerBatchId)?.plan.requests ?? [];
      expectations.push({
        ...base,
        status: 9,
        reason: 'not_found',
        oracleFinal: true,
        outcomes: requests.map((request) => ({
          customId: request.customId,
          outcome: 'missing' as const,
          errorCode: ResultErrorCode.missingResult,
        })),
        unattributableLines: 0,
      });
      continue;
    }
    const oracle = await emulator.expectedOutcomes(batch.providerBatchId);
    expectations.push({
      ...base,
      status: oracle.status === 'completed' ? 2 : 9,
      reason: REASON_BY_PROVIDER_STATUS[oracle.status] ?? `(provider status ${oracle.status})`,
      oracleFinal: oracle.final,
      outcomes: oracle.outcomes,
      unattributableLines: oracle.unattributableLines.length,
    });
  }
  return expectations;
}

/**
 * Every batch log with its result rows and associations — and the rows the other job types' tables hold — as
 * Postgres holds them.
 */
export async function batchStates(pool: Pool, jobTypes: JobTypeSet): Promise<Map<number, BatchState>> {
  const states = new Map<number, BatchState>();
  const { rows: logs } = await pool.query<{
    id: string;
    status: number;
    reason: string | null;
    total_sentences: number;
    processed_sentences: number;
    failed_sentences: number;
    invalid_lines: number | null;
    final_notified_at: Date | null;
  }>(
    `SELECT id, status, log_details->>'reason' AS reason, total_sentences, processed_sentences, failed_sentences,
            (log_details->'invalidLines'->>'count')::int AS invalid_lines, final_notified_at
     FROM batch_jobs_vp_logs`,
  );
  for (const row of logs) {
    states.set(Number(row.id), {
      batchLogId: Number(row.id),
      status: row.status,
      reason: row.reason,
      totalSentences: row.total_sentences,
      processedSentences: row.processed_sentences,
      failedSentences: row.failed_sentences,
      invalidLines: row.invalid_lines,
      finalNotifiedAt: row.final_notified_at,
      results: new Map(),
      associations: [],
      landedRows: [],
    });
  }
  const { rows: results } = await pool.query<{
    batch_log_id: string;
    custom_id: string;
    outcome: string;
    error_code: string | null;
  }>('SELECT batch_log_id, custom_id, outcome, error_code FROM batch_request_results');
  for (const row of results) {
    const state = states.get(Number(row.batch_log_id));
    if (!state) continue;
    const seen = state.results.get(row.custom_id);
    if (seen) seen.rows += 1;
    else state.results.set(row.custom_id, { outcome: row.outcome, errorCode: row.error_code, rows: 1 });
  }
  const { rows: pairs } = await pool.query<{ batch_log_id: string; pair: string }>(
    `SELECT batch_log_id, review_sentence_id || ':' || wl_spec_vp_id AS pair FROM review_sentences_wl_spec_vp`,
  );
  for (const row of pairs) states.get(Number(row.batch_log_id))?.associations.push(row.pair);
  for (const jobType of jobTypes.all()) {
    if (isDefaultJobType(jobType)) continue;
    for (const [batchLogId, rows] of await landedRowsByBatch(pool, jobType)) {
      states.get(batchLogId)?.landedRows.push(...rows);
    }
  }
  return states;
}

export async function unpublishedOutboxRows(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
  );
  return rows[0]!.n;
}

/** The distinct msg ids of each batch's terminal status events and finalized events (harness republishes excluded). */
export async function storedEventIds(probe: BusProbe): Promise<StoredEventIds> {
  const ids: StoredEventIds = { terminalStatus: new Map(), finalized: new Map() };
  const collect = async (stream: StreamName, into: (payload: unknown, msgId: string) => void) => {
    const { first, last } = await probe.streamRange(stream);
    if (last < first) return;
    for (const message of await probe.messages(stream, first, last)) {
      if (message.msgId.startsWith(CHAOS_MSG_ID_PREFIX)) continue;
      try {
        into(JSON.parse(new TextDecoder().decode(message.data)), message.msgId);
      } catch {
        // not JSON: poison, counted by the DLQ check
      }
    }
  };
  const add = (map: Map<number, Set<string>>, batchLogId: number, msgId: string) => {
    const set = map.get(batchLogId) ?? new Set<string>();
    set.add(msgId);
    map.set(batchLogId, set);
  };
  await collect('BATCH_STATUS', (payload, msgId) => {
    const event = payload as Partial<StatusChangedEvent>;
    if (event.terminal === true && typeof event.batchLogId === 'number') {
      add(ids.terminalStatus, event.batchLogId, msgId);
    }
  });
  await collect('BATCH_FINAL', (payload, msgId) => {
    const event = payload as Partial<BatchFinalizedEvent>;
    if (typeof event.batchLogId === 'number') add(ids.finalized, event.batchLogId, msgId);
  });
  return ids;
}

export function slackPostsOf(receiver: SlackReceiver): SlackPost[] {
  const accepted = new Set(receiver.accepted);
  return receiver.attempts.map((attempt) => ({
    at: attempt.at,
    text: typeof attempt.body.text === 'string' ? attempt.body.text : JSON.stringify(attempt.body),
    accepted: accepted.has(attempt),
  }));
}

/** Where a canary appears in what the system stored or sent: text columns, Slack bodies, DLQ headers. */
export async function storedCanarySightings(
  pool: Pool,
  canaries: readonly string[],
  receiver: SlackReceiver,
  deadLetterErrors: readonly string[],
): Promise<string[]> {
  const sightings: string[] = [];
  const columns: [table: string, column: string][] = [
    ['batch_jobs_vp_logs', 'log_details::text'],
    ['batch_jobs_vp_logs', 'last_poll_error'],
    ['batch_request_results', 'error_message'],
    ['notifications', 'text'],
    ['notifications', 'last_error'],
    ['outbox', 'payload::text'],
  ];
  for (const [table, column] of columns) {
    const anyCanary = canaries.map((_, i) => `strpos(${column}, $${i + 1}) > 0`).join(' OR ');
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE ${anyCanary}`,
      [...canaries],
    );
    if (rows[0]!.n > 0) sightings.push(`${rows[0]!.n} row(s) of ${table}.${column}`);
  }
  for (const attempt of receiver.attempts) {
    if (canaries.some((canary) => JSON.stringify(attempt.body).includes(canary))) {
      sightings.push(`a Slack message body posted at ${new Date(attempt.at).toISOString()}`);
    }
  }
  for (const error of deadLetterErrors) {
    if (canaries.some((canary) => error.includes(canary))) sightings.push('a DLQ error header');
  }
  return sightings;
}
