import type { Queryable } from '@batchline/db';
import type { AlertCondition } from '@batchline/events';
import type { AlertCadence, AlertRule } from '../alert-cadence.ts';
import { type AlertRow, type RaisedAlert, toRaisedAlert } from './alerts.ts';

interface AlertRuleRow {
  condition: AlertCondition;
  cadence: AlertCadence;
  quiet_start_minute: number | null;
  quiet_end_minute: number | null;
  quiet_time_zone: string;
  job_type: string | null;
  provider: string | null;
}

const toAlertRule = (row: AlertRuleRow): AlertRule => ({
  condition: row.condition,
  cadence: row.cadence,
  quietHours:
    row.quiet_start_minute === null || row.quiet_end_minute === null
      ? null
      : {
          startMinute: row.quiet_start_minute,
          endMinute: row.quiet_end_minute,
          timeZone: row.quiet_time_zone,
        },
  jobType: row.job_type,
  provider: row.provider,
});

/** Every rule's cadence, quiet hours and scope, by condition. */
export async function listAlertRules(db: Queryable): Promise<AlertRule[]> {
  const { rows } = await db.query<AlertRuleRow>('SELECT * FROM alert_rules ORDER BY condition');
  return rows.map(toAlertRule);
}

/** What may change of one rule; an absent field stays, null clears quiet hours or scope. */
export type AlertRuleChange = Partial<Omit<AlertRule, 'condition'>>;

export async function updateAlertRule(
  db: Queryable,
  condition: AlertCondition,
  change: AlertRuleChange,
): Promise<void> {
  const quiet = change.quietHours;
  await db.query(
    `UPDATE alert_rules SET
       cadence = COALESCE($2, cadence),
       quiet_start_minute = CASE WHEN $3::boolean THEN $4::int ELSE quiet_start_minute END,
       quiet_end_minute = CASE WHEN $3::boolean THEN $5::int ELSE quiet_end_minute END,
       quiet_time_zone = CASE WHEN $3::boolean THEN COALESCE($10, 'UTC') ELSE quiet_time_zone END,
       job_type = CASE WHEN $6::boolean THEN $7 ELSE job_type END,
       provider = CASE WHEN $8::boolean THEN $9 ELSE provider END
     WHERE condition = $1`,
    [
      condition,
      change.cadence ?? null,
      quiet !== undefined,
      quiet?.startMinute ?? null,
      quiet?.endMinute ?? null,
      change.jobType !== undefined,
      change.jobType ?? null,
      change.provider !== undefined,
      change.provider ?? null,
      quiet?.timeZone ?? null,
    ],
  );
}

/** A rule's held alerts that fall due together: one digest. */
export interface DueDigest {
  condition: AlertCondition;
  dueAt: Date;
}

/** Digests due now (database clock): held alerts not yet announced whose due time has come. */
export async function listDueDigests(db: Queryable): Promise<DueDigest[]> {
  const { rows } = await db.query<{ condition: AlertCondition; due_at: Date }>(
    `SELECT DISTINCT condition, due_at FROM alerts
     WHERE due_at <= now() AND digested_in IS NULL AND digest_of IS NULL ORDER BY due_at, condition`,
  );
  return rows.map((row) => ({ condition: row.condition, dueAt: row.due_at }));
}

/**
 * Claims the digest of `condition` due at `dueAt` (in the caller's transaction): true for exactly one caller
 * across replicas and restarts; a second claimant waits for the first to commit, then gets false.
 */
export async function claimDigest(db: Queryable, digest: DueDigest): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO alert_digests (condition, due_at, alert_id) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`,
    [digest.condition, digest.dueAt],
  );
  return result.rowCount === 1;
}

/** The held alerts of a claimed digest, oldest first, locked until it is recorded. */
export async function heldAlertsOf(db: Queryable, digest: DueDigest): Promise<RaisedAlert[]> {
  const { rows } = await db.query<AlertRow>(
    `SELECT * FROM alerts
     WHERE condition = $1 AND due_at = $2 AND digested_in IS NULL AND digest_of IS NULL
     ORDER BY raised_at, id FOR UPDATE`,
    [digest.condition, digest.dueAt],
  );
  return rows.map(toRaisedAlert);
}

/** Records that the digest alert `digestId` announced `heldIds`. */
export async function recordDigest(
  db: Queryable,
  digest: DueDigest,
  digestId: number,
  heldIds: readonly number[],
): Promise<void> {
  await db.query('UPDATE alert_digests SET alert_id = $3 WHERE condition = $1 AND due_at = $2', [
    digest.condition,
    digest.dueAt,
    digestId,
  ]);
  await db.query('UPDATE alerts SET digested_in = $1 WHERE id = ANY($2::bigint[])', [digestId, heldIds]);
}
