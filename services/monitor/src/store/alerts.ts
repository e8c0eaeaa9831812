import type { Queryable } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';
import type { AlertChannel } from '@batchline/events';

/**
 * The alert rules: a threshold per condition (null turns that rule off), where alerts go, how long an alert of
 * one condition silences the next, and the window conditions are measured over.
 */
export interface AlertConfig {
  /** Percent of failed requests among those that landed in the window. */
  errorRatePercent: number | null;
  /** Submission to results landed, in ms (a pending batch counts from its submission until now). */
  processingTimeMs: number | null;
  /** Fewest finished jobs per hour while older work waits. */
  minJobsPerHour: number | null;
  /** A pending batch whose check is overdue, or whose results have not landed, by this many ms. */
  stuckBatchMs: number | null;
  /** Failed batches in the window that raise an alert. */
  failedBatches: number | null;
  channels: AlertChannel[];
  suppressionMs: number;
  evaluationWindowMs: number;
  updatedAt: Date;
  updatedBy: string | null;
}

export type AlertConfigChange = Partial<Omit<AlertConfig, 'updatedAt' | 'updatedBy'>>;

const CONFIG_COLUMNS: Record<keyof AlertConfigChange, string> = {
  errorRatePercent: 'error_rate_percent',
  processingTimeMs: 'processing_time_ms',
  minJobsPerHour: 'min_jobs_per_hour',
  stuckBatchMs: 'stuck_batch_ms',
  failedBatches: 'failed_batches',
  channels: 'channels',
  suppressionMs: 'suppression_ms',
  evaluationWindowMs: 'evaluation_window_ms',
};

interface AlertConfigRow {
  error_rate_percent: number | null;
  processing_time_ms: string | null;
  min_jobs_per_hour: number | null;
  stuck_batch_ms: string | null;
  failed_batches: number | null;
  channels: AlertChannel[];
  suppression_ms: string;
  evaluation_window_ms: string;
  updated_at: Date;
  updated_by: string | null;
}

const numberOrNull = (value: string | number | null): number | null =>
  value === null ? null : Number(value);

const toAlertConfig = (row: AlertConfigRow): AlertConfig => ({
  errorRatePercent: row.error_rate_percent,
  processingTimeMs: numberOrNull(row.processing_time_ms),
  minJobsPerHour: row.min_jobs_per_hour,
  stuckBatchMs: numberOrNull(row.stuck_batch_ms),
  failedBatches: row.failed_batches,
  channels: row.channels,
  suppressionMs: Number(row.suppression_ms),
  evaluationWindowMs: Number(row.evaluation_window_ms),
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});

export async function getAlertConfig(db: Queryable): Promise<AlertConfig> {
  const { rows } = await db.query<AlertConfigRow>('SELECT * FROM alert_config');
  return toAlertConfig(rows[0]!);
}

/** Changes the given settings (a null threshold turns its rule off) and returns the whole configuration. */
export async function updateAlertConfig(
  db: Queryable,
  change: AlertConfigChange,
  updatedBy: string,
): Promise<AlertConfig> {
  const keys = (Object.keys(change) as (keyof AlertConfigChange)[]).filter(
    (key) => change[key] !== undefined,
  );
  const assignments = keys.map((key, index) => `${CONFIG_COLUMNS[key]} = $${index + 2}`);
  const { rows } = await db.query<AlertConfigRow>(
    `UPDATE alert_config SET ${[...assignments, 'updated_at = now()', 'updated_by = $1'].join(', ')} RETURNING *`,
    [updatedBy, ...keys.map((key) => change[key])],
  );
  return toAlertConfig(rows[0]!);
}

/** What the alert conditions are measured on, over the last `windowMs` by the database clock. */
export interface AlertMeasurements {
  /** Final batches whose results landed in the window, and their request outcomes. */
  finishedJobs: number;
  succeededRequests: number;
  failedRequests: number;
  /** Batches that ended failed in the window: how many, and the latest few. */
  failedJobs: number;
  failedJobIds: number[];
  /** Batches over the processing-time threshold (pending ones by their age): how many, the slowest few. */
  slowJobs: number;
  slowJobIds: number[];
  longestProcessingMs: number;
  /** Pending batches submitted before the window began (work that has waited all window long). */
  waitingJobs: number;
  /** Pending batches whose check is overdue, or whose results have not landed, by the stuck threshold. */
  stuckJobs: number;
  stuckJobIds: number[];
}

/** How many batch ids an alert names at most. */
const LISTED_IDS = 20;

export async function measureAlertConditions(
  db: Queryable,
  {
    windowMs,
    processingTimeMs,
    stuckBatchMs,
    jobType = null,
    provider = null,
  }: {
    windowMs: number;
    processingTimeMs: number | null;
    stuckBatchMs: number | null;
    /** Only batches of this job type and/or provider (a rule's scope); null: all. */
    jobType?: string | null;
    provider?: string | null;
  },
): Promise<AlertMeasurements> {
  const { rows } = await db.query<{
    finished_jobs: number;
    succeeded: number;
    failed: number;
    failed_jobs: number;
    failed_ids: string[];
    slow_jobs: number;
    slow_ids: string[];
    longest_ms: number;
    waiting_jobs: number;
    stuck_jobs: number;
    stuck_ids: string[];
  }>(
    `WITH w AS (SELECT now() - $1::float8 * interval '1 millisecond' AS from_at),
     landed AS (SELECT f.* FROM monitor_batch_facts f, w WHERE f.landed_at > w.from_at
                  AND ($5::text IS NULL OR f.job_type = $5) AND ($6::text IS NULL OR f.provider = $6)),
     scoped AS (SELECT b.* FROM batch_jobs_vp_logs b
                WHERE b.status = ${BatchStatus.pending}
                  AND ($5::text IS NULL OR b.job_type = $5) AND ($6::text IS NULL OR b.provider = $6)),
     slow AS (
       SELECT b.id, extract(epoch FROM now() - b.created_at) * 1000 AS ms FROM scoped b
       WHERE $2::float8 IS NOT NULL AND b.status = ${BatchStatus.pending} AND b.created_at < now() - $2::float8 * interval '1 millisecond'
       UNION ALL
       SELECT l.batch_log_id, extract(epoch FROM l.landed_at - l.created_at) * 1000 FROM landed l
       WHERE $2::float8 IS NOT NULL AND l.landed_at - l.created_at > $2::float8 * interval '1 millisecond'
     ),
     stuck AS (
       SELECT b.id FROM scoped b
       WHERE $3::float8 IS NOT NULL AND b.status = ${BatchStatus.pending} AND NOT b.polling_paused
         AND NOT (SELECT paused FROM polling_control)
         AND (b.provider_terminal_at < now() - $3::float8 * interval '1 millisecond'
              OR b.next_poll_at < now() - $3::float8 * interval '1 millisecond')
     )
     SELECT
       (SELECT count(*)::int FROM landed) AS finished_jobs,
       (SELECT COALESCE(sum(succeeded), 0)::float8 FROM landed) AS succeeded,
       (SELECT COALESCE(sum(failed), 0)::float8 FROM landed) AS failed,
       (SELECT count(*)::int FROM landed WHERE status = ${BatchStatus.failed}) AS failed_jobs,
       ARRAY(SELECT batch_log_id FROM landed WHERE status = ${BatchStatus.failed} ORDER BY landed_at DESC LIMIT $4) AS failed_ids,
       (SELECT count(*)::int FROM slow) AS slow_jobs,
       ARRAY(SELECT id FROM slow ORDER BY ms DESC, id LIMIT $4) AS slow_ids,
       (SELECT COALESCE(max(ms), 0)::float8 FROM slow) AS longest_ms,
       (SELECT count(*)::int FROM scoped b, w WHERE b.created_at < w.from_at)
         AS waiting_jobs,
       (SELECT count(*)::int FROM stuck) AS stuck_jobs,
       ARRAY(SELECT id FROM stuck ORDER BY id LIMIT $4) AS stuck_ids`,
    [windowMs, processingTimeMs, stuckBatchMs, LISTED_IDS, jobType, provider],
  );
  const row = rows[0]!;
  return {
    finishedJobs: row.finished_jobs,
    succeededRequests: row.succeeded,
    failedRequests: row.failed,
    failedJobs: row.failed_jobs,
    failedJobIds: row.failed_ids.map(Number),
    slowJobs: row.slow_jobs,
    slowJobIds: row.slow_ids.map(Number),
    longestProcessingMs: row.longest_ms,
    waitingJobs: row.waiting_jobs,
    stuckJobs: row.stuck_jobs,
    stuckJobIds: row.stuck_ids.map(Number),
  };
}

/**
 * Starts the suppression window of `condition` if none is running: true when this caller may raise the alert.
 * The row lock makes it atomic across monitor replicas.
 */
export async function claimAlertWindow(
  db: Queryable,
  condition: string,
  suppressionMs: number,
): Promise<boolean> {
  const result = await db.query(
    `UPDATE alert_state SET last_raised_at = now()
     WHERE condition = $1
       AND (last_raised_at IS NULL OR last_raised_at <= now() - $2::float8 * interval '1 millisecond')`,
    [condition, suppressionMs],
  );
  return result.rowCount === 1;
}

export interface NewAlert {
  condition: string;
  severity: string;
  message: string;
  value: number;
  threshold: number;
  batchLogIds: number[];
  channels: AlertChannel[];
  windowMs: number;
  /** Held for the digest due then (its rule's cadence or quiet hours); null: announced at once. */
  dueAt?: Date | null;
  /** A digest: how many held alerts it announces. */
  digestOf?: number | null;
}

export interface RaisedAlert extends NewAlert {
  id: number;
  raisedAt: Date;
  dueAt: Date | null;
  digestOf: number | null;
  /** The digest that announced this held alert, once sent. */
  digestedIn: number | null;
}

export interface AlertRow {
  id: string;
  condition: string;
  severity: string;
  message: string;
  value: number;
  threshold: number;
  batch_log_ids: string[];
  channels: AlertChannel[];
  window_ms: string;
  raised_at: Date;
  due_at: Date | null;
  digest_of: number | null;
  digested_in: string | null;
}

/** An `alerts` row (`SELECT *`) as the monitor uses it. */
export const toRaisedAlert = (row: AlertRow): RaisedAlert => ({
  id: Number(row.id),
  condition: row.condition,
  severity: row.severity,
  message: row.message,
  value: row.value,
  threshold: row.threshold,
  batchLogIds: row.batch_log_ids.map(Number),
  channels: row.channels,
  windowMs: Number(row.window_ms),
  raisedAt: row.raised_at,
  dueAt: row.due_at,
  digestOf: row.digest_of,
  digestedIn: row.digested_in === null ? null : Number(row.digested_in),
});

export async function insertAlert(db: Queryable, alert: NewAlert): Promise<RaisedAlert> {
  const { rows } = await db.query<AlertRow>(
    `INSERT INTO alerts (condition, severity, message, value, threshold, batch_log_ids, channels, window_ms,
       due_at, digest_of)
     VALUES ($1, $2, $3, $4, $5, $6::bigint[], $7::text[], $8, $9, $10)
     RETURNING *`,
    [
      alert.condition,
      alert.severity,
      alert.message,
      alert.value,
      alert.threshold,
      alert.batchLogIds,
      alert.channels,
      alert.windowMs,
      alert.dueAt ?? null,
      alert.digestOf ?? null,
    ],
  );
  return toRaisedAlert(rows[0]!);
}

/** The most recent alerts, newest first. */
export async function listRecentAlerts(db: Queryable, limit: number): Promise<RaisedAlert[]> {
  const { rows } = await db.query<AlertRow>(
    'SELECT * FROM alerts ORDER BY raised_at DESC, id DESC LIMIT $1',
    [limit],
  );
  return rows.map(toRaisedAlert);
}
