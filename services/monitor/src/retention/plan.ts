import type { RetentionSettings, Settings } from '@batchline/config';
import { BatchStatus } from '@batchline/domain';

/** The families of tables retention purges, each with its own `RETENTION_<FAMILY>_DAYS` setting. */
export const RETENTION_FAMILIES = [
  'audit_log',
  'notifications',
  'alerts',
  'request_outcomes',
  'outbox',
  'poll_cycles',
] as const;
export type RetentionFamily = (typeof RETENTION_FAMILIES)[number];

/**
 * Tables retention must never touch: the user's data. Job types' target tables are declared by users and are not
 * in any target below either; the plan's unit test holds every target against this list.
 */
export const NEVER_PURGED = ['review_sentences_wl_spec_vp', 'batch_jobs_vp_logs', 'wl_spec_vps'] as const;

/** One table of a family: `candidates` selects the `ctid`s of its purgeable rows (alias `t`), oldest first is not needed. */
interface PurgeTarget {
  family: RetentionFamily;
  table: string;
  /** A SELECT of `t.ctid` from `table t`; the cutoff is `$cutoff` (replaced by the executor's expression). */
  candidates: string;
}

const FINAL_STATUSES = `${BatchStatus.completed}, ${BatchStatus.failed}`;
/**
 * Rows of `table` (keyed by `batch_log_id`) belonging to a few batches final and unchanged since before the cutoff
 * that still have rows there: found through the batch id index, where a join would scan the whole table.
 */
const ofBatchesFinishedBeforeCutoff = (table: string) => `t.batch_log_id = ANY(ARRAY(
    SELECT b.id FROM batch_jobs_vp_logs b
    WHERE b.status IN (${FINAL_STATUSES}) AND b.updated_at < $cutoff
      AND EXISTS (SELECT 1 FROM ${table} r WHERE r.batch_log_id = b.id)
    LIMIT 20))`;

const TARGETS: readonly PurgeTarget[] = [
  {
    family: 'audit_log',
    table: 'audit_log',
    candidates: 'SELECT t.ctid FROM audit_log t WHERE t.at < $cutoff',
  },
  {
    family: 'notifications',
    table: 'notifications',
    // Only messages that are done: a pending or sending one, however old, is still to be delivered.
    candidates: `SELECT t.ctid FROM notifications t
      WHERE t.state IN ('sent', 'logged', 'failed', 'digested') AND t.occurred_at < $cutoff`,
  },
  {
    family: 'notifications',
    table: 'webhook_deliveries',
    // Only deliveries that are over: a pending one, however old, is still owed to its endpoint.
    candidates: `SELECT t.ctid FROM webhook_deliveries t
      WHERE t.state IN ('delivered', 'failed') AND t.updated_at < $cutoff`,
  },
  {
    family: 'alerts',
    table: 'alerts',
    candidates: 'SELECT t.ctid FROM alerts t WHERE t.raised_at < $cutoff',
  },
  {
    family: 'alerts',
    table: 'alert_digests',
    // A digest's due time is long past at the cutoff: no replica will claim it again.
    candidates: 'SELECT t.ctid FROM alert_digests t WHERE t.sent_at < $cutoff',
  },
  {
    family: 'request_outcomes',
    table: 'batch_request_results',
    candidates: `SELECT t.ctid FROM batch_request_results t WHERE ${ofBatchesFinishedBeforeCutoff('batch_request_results')}`,
  },
  {
    family: 'request_outcomes',
    table: 'batch_request_ids',
    candidates: `SELECT t.ctid FROM batch_request_ids t WHERE ${ofBatchesFinishedBeforeCutoff('batch_request_ids')}`,
  },
  {
    family: 'request_outcomes',
    table: 'batch_request_answers',
    candidates: `SELECT t.ctid FROM batch_request_answers t WHERE ${ofBatchesFinishedBeforeCutoff('batch_request_answers')}`,
  },
  {
    family: 'request_outcomes',
    table: 'batch_job_inputs',
    // The inputs a finished job's retries would rebuild their lines from; a retry after the purge reads the
    // provider's input file instead (while the provider keeps it).
    candidates: `SELECT t.ctid FROM batch_job_inputs t WHERE t.batch_job_id = ANY(ARRAY(
      SELECT j.id FROM batch_jobs j
      WHERE j.finalized_at < $cutoff AND EXISTS (SELECT 1 FROM batch_job_inputs r WHERE r.batch_job_id = j.id)
      LIMIT 20))`,
  },
  {
    family: 'outbox',
    table: 'outbox',
    // Unpublished rows are never purged: the relay still owes them to the bus.
    candidates: 'SELECT t.ctid FROM outbox t WHERE t.published_at IS NOT NULL AND t.published_at < $cutoff',
  },
  {
    family: 'poll_cycles',
    table: 'poller_cycles',
    candidates: 'SELECT t.ctid FROM poller_cycles t WHERE t.started_at < $cutoff',
  },
];

export type RetentionConfig = Settings<typeof RetentionSettings>;

/** Each family's retention: its own setting when set, else `BATCH_MONITORING_RETENTION_DAYS`. */
export function retentionDays(config: RetentionConfig): Record<RetentionFamily, number> {
  const own: Record<RetentionFamily, number | undefined> = {
    audit_log: config.RETENTION_AUDIT_LOG_DAYS,
    notifications: config.RETENTION_NOTIFICATIONS_DAYS,
    alerts: config.RETENTION_ALERTS_DAYS,
    request_outcomes: config.RETENTION_REQUEST_OUTCOMES_DAYS,
    outbox: config.RETENTION_OUTBOX_DAYS,
    poll_cycles: config.RETENTION_POLL_CYCLES_DAYS,
  };
  return Object.fromEntries(
    RETENTION_FAMILIES.map((family) => [family, own[family] ?? config.BATCH_MONITORING_RETENTION_DAYS]),
  ) as Record<RetentionFamily, number>;
}

/** One step of a purge: delete `table`'s rows older than `days`, `batchRows` at a time, by `statement`. */
export interface PurgeStep {
  family: RetentionFamily;
  table: string;
  days: number;
  /**
   * One batch: `$1` is the batch size. The cutoff is read from `batchline.retention_cutoff`, which the executor
   * sets in the same transaction (the audit log's trigger admits deletes older than it, and only those).
   * `ctid = ANY(ARRAY(...))` makes Postgres fetch the rows by their tuple ids (a TID scan), where
   * `ctid IN (SELECT ...)` would scan the whole table for each batch. SKIP LOCKED: a row someone holds waits for the
   * next run instead of making the purge wait.
   */
  statement: string;
}

const CUTOFF = "current_setting('batchline.retention_cutoff')::timestamptz";

/** The purge, table by table, in a fixed order. Pure: the same settings give the same plan. */
export function purgePlan(config: RetentionConfig): PurgeStep[] {
  const days = retentionDays(config);
  return TARGETS.map((target) => ({
    family: target.family,
    table: target.table,
    days: days[target.family],
    statement: `DELETE FROM ${target.table} WHERE ctid = ANY(ARRAY(
      ${target.candidates.replaceAll('$cutoff', CUTOFF)} LIMIT $1 FOR UPDATE OF t SKIP LOCKED))`,
  }));
}
