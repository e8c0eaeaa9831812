import type { Severity } from '@batchline/domain';
import type pg from 'pg';
import { batchLogIdOf, type NotificationRoute } from './notification.ts';

/** One final-status message listed in a digest. */
export interface DigestEntry {
  eventKey: string;
  batchLogId: number | null;
  severity: Severity;
  occurredAt: Date;
  text: string;
}

/** When and how final-status messages are bundled. */
export interface DigestPolicy {
  /** More than this many due within `windowMs` of the oldest due one become one digest. */
  threshold: number;
  windowMs: number;
  /** Most entries in one digest (Slack's block and text limits); the rest go in the next one. */
  maxEntries: number;
  compose(entries: readonly DigestEntry[]): { text: string; blocks: readonly unknown[] };
}

/** A batch a claimed digest announces, with the trace its post links to. */
export interface BundledEntry {
  batchLogId: number | null;
  traceHeaders: Record<string, string>;
}

/** The oldest due message, whose window a digest would cover. */
export interface DigestHead {
  event_key: string;
  route: NotificationRoute;
  occurred_at: Date;
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 3, high: 2, medium: 1, low: 0 };

/** The entries listed in a digest, oldest first. */
export async function bundledEntries(client: pg.ClientBase, digestKey: string): Promise<BundledEntry[]> {
  const { rows } = await client.query<{ batch_log_id: string | null; trace_headers: Record<string, string> }>(
    `SELECT batch_log_id, trace_headers FROM notifications WHERE digest_key = $1
     ORDER BY occurred_at, created_at, event_key`,
    [digestKey],
  );
  return rows.map((row) => ({ batchLogId: batchLogIdOf(row.batch_log_id), traceHeaders: row.trace_headers }));
}

/**
 * Bundles the final-status messages due within the window of `head` into a new digest message when there are
 * more than the threshold; returns the digest's key, or null when `head` goes out alone. Messages that may
 * already have been posted are never bundled: they go out alone, flagged.
 */
export async function bundleDigest(
  client: pg.ClientBase,
  head: DigestHead,
  policy: DigestPolicy,
): Promise<string | null> {
  const { rows } = await client.query<{
    event_key: string;
    batch_log_id: string | null;
    severity: Severity;
    occurred_at: Date;
    text: string;
  }>(
    `SELECT event_key, batch_log_id, severity, occurred_at, text FROM notifications
     WHERE route = $1 AND state = 'pending' AND announces_final AND NOT possible_repeat
       AND occurred_at <= $2::timestamptz + $3 * interval '1 millisecond'
     ORDER BY occurred_at, created_at, event_key
     LIMIT $4`,
    [head.route, head.occurred_at, policy.windowMs, Math.max(policy.maxEntries, policy.threshold + 1)],
  );
  if (rows.length <= policy.threshold) return null;
  const entries: DigestEntry[] = rows.slice(0, policy.maxEntries).map((row) => ({
    eventKey: row.event_key,
    batchLogId: batchLogIdOf(row.batch_log_id),
    severity: row.severity,
    occurredAt: row.occurred_at,
    text: row.text,
  }));
  const digestKey = `digest:${head.event_key}`;
  const { text, blocks } = policy.compose(entries);
  const severity = entries.reduce<Severity>(
    (top, entry) => (SEVERITY_RANK[entry.severity] > SEVERITY_RANK[top] ? entry.severity : top),
    'low',
  );
  await client.query(
    `INSERT INTO notifications (event_key, kind, route, severity, occurred_at, batch_log_id, announces_final,
                                state, attempts, text, blocks)
     VALUES ($1, 'digest', $2, $3, $4, NULL, false, 'pending', 0, $5, $6::jsonb)`,
    [digestKey, head.route, severity, head.occurred_at, text, JSON.stringify(blocks)],
  );
  await client.query(
    `UPDATE notifications SET state = 'digested', digest_key = $1 WHERE event_key = ANY($2)`,
    [digestKey, entries.map((entry) => entry.eventKey)],
  );
  return digestKey;
}
