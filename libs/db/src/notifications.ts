import { redactSecretsIn } from '@batchline/logging';
import type pg from 'pg';
import { type Queryable, type TransactionSource, withTransaction } from './pool.ts';
import { holdWebhook, lockWebhookPace, releaseWebhook, type WebhookHealth } from './webhook-pacing.ts';

/**
 * The notifier's queue of Slack messages (`notifications`). A message is recorded under the key of the event it
 * announces before that event is acknowledged, so a redelivered or replayed event never yields a second one;
 * dispatchers then send what is due, oldest occurrence first, one webhook slot at a time.
 *
 * `pending` → `sending` (claimed by one dispatcher until `claim_expires_at`) → `sent` / `logged` / `failed`; a
 * final-status message may instead become `digested` (listed in the digest message `digest_key`).
 */
export type NotificationState = 'pending' | 'sending' | 'sent' | 'logged' | 'failed' | 'digested';
export type NotificationSeverity = 'critical' | 'high' | 'medium' | 'low';
/** Which webhook: the default one, the critical one (or the default when none is set), or the log only. */
export type NotificationRoute = 'default' | 'critical' | 'log';

const SEVERITY_RANK: Record<NotificationSeverity, number> = { critical: 3, high: 2, medium: 1, low: 0 };

export interface NewNotification {
  /** The announced event, e.g. `final:<batchLogId>`: one message per key, ever. */
  eventKey: string;
  kind: string;
  route: NotificationRoute;
  severity: NotificationSeverity;
  /** When the announced thing happened; messages of a webhook go out in this order. */
  occurredAt: Date;
  batchLogId: number | null;
  /** Announces the batch's final status: may be bundled into a digest; stamps `final_notified_at` once out. */
  announcesFinal: boolean;
  text: string;
  blocks: readonly unknown[];
  /** The trace context of the event announced (`traceparent`, ...), for the post to join; none: `{}`. */
  traceHeaders?: Readonly<Record<string, string>>;
}

/** Records a message to send; false when its event was recorded before (nothing changes then). */
export async function enqueueNotification(db: Queryable, message: NewNotification): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO notifications (event_key, kind, route, severity, occurred_at, batch_log_id, announces_final,
                                state, attempts, text, blocks, trace_headers)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9::jsonb, $10::jsonb)
     ON CONFLICT (event_key) DO NOTHING`,
    [
      message.eventKey,
      message.kind,
      message.route,
      message.severity,
      message.occurredAt,
      message.batchLogId,
      message.announcesFinal,
      message.text,
      JSON.stringify(message.blocks),
      JSON.stringify(message.traceHeaders ?? {}),
    ],
  );
  return result.rowCount === 1;
}

/**
 * Records a report unless one of its series (keys starting with `series`) was recorded within `withinMs`: for
 * reports that would otherwise repeat once per failing message. The key is the series plus the time.
 */
export async function enqueueNotificationOncePer(
  db: Queryable,
  message: Omit<NewNotification, 'eventKey'>,
  { series, withinMs }: { series: string; withinMs: number },
): Promise<boolean> {
  const result = await db.query(
    `INSERT INTO notifications (event_key, kind, route, severity, occurred_at, batch_log_id, announces_final,
                                state, attempts, text, blocks, trace_headers)
     SELECT $1 || to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9::jsonb, $11::jsonb
     WHERE NOT EXISTS (
       SELECT 1 FROM notifications
       WHERE starts_with(event_key, $1) AND created_at > clock_timestamp() - $10 * interval '1 millisecond')
     ON CONFLICT (event_key) DO NOTHING`,
    [
      series,
      message.kind,
      message.route,
      message.severity,
      message.occurredAt,
      message.batchLogId,
      message.announcesFinal,
      message.text,
      JSON.stringify(message.blocks),
      withinMs,
      JSON.stringify(message.traceHeaders ?? {}),
    ],
  );
  return result.rowCount === 1;
}

/** One final-status message listed in a digest. */
export interface DigestEntry {
  eventKey: string;
  batchLogId: number | null;
  severity: NotificationSeverity;
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

export interface ClaimedNotification {
  eventKey: string;
  kind: string;
  route: NotificationRoute;
  severity: NotificationSeverity;
  occurredAt: Date;
  batchLogId: number | null;
  text: string;
  blocks: unknown[];
  /** The trace context recorded with the message (`{}` when none): its post continues that trace. */
  traceHeaders: Record<string, string>;
  /** A digest's entries (empty for any other message): the batches it announces and their traces. */
  bundled: BundledEntry[];
  /** Attempts started, this one included. */
  attempts: number;
  /** An earlier attempt may have reached Slack (a crash or timeout after posting): this one should say so. */
  possibleRepeat: boolean;
}

export interface BundledEntry {
  batchLogId: number | null;
  traceHeaders: Record<string, string>;
}

export type DispatchClaim =
  | { kind: 'claimed'; notification: ClaimedNotification }
  /** The webhook is paced, paused or held by another replica for `waitMs` more. */
  | { kind: 'wait'; waitMs: number }
  /** Nothing is due on these routes. */
  | { kind: 'idle' };

export interface ClaimOptions {
  /** The webhook's pacing key (a hash of its URL, never the URL). */
  webhookKey: string;
  /** The routes this webhook serves. */
  routes: readonly NotificationRoute[];
  instanceId: string;
  /** How long the claim and the webhook hold last: longer than one POST can take, plus the pacing interval. */
  holdMs: number;
  /** Null: never bundle. */
  digest: DigestPolicy | null;
}

interface DueRow {
  event_key: string;
  route: NotificationRoute;
  state: NotificationState;
  announces_final: boolean;
  possible_repeat: boolean;
  occurred_at: Date;
}

interface ClaimedRow {
  event_key: string;
  kind: string;
  route: NotificationRoute;
  severity: NotificationSeverity;
  occurred_at: Date;
  batch_log_id: string | null;
  text: string;
  blocks: unknown[];
  trace_headers: Record<string, string>;
  attempts: number;
  possible_repeat: boolean;
}

const batchLogIdOf = (column: string | null): number | null => (column === null ? null : Number(column));

/** The entries listed in a digest, oldest first. */
async function bundledEntries(client: pg.ClientBase, digestKey: string): Promise<BundledEntry[]> {
  const { rows } = await client.query<{ batch_log_id: string | null; trace_headers: Record<string, string> }>(
    `SELECT batch_log_id, trace_headers FROM notifications WHERE digest_key = $1
     ORDER BY occurred_at, created_at, event_key`,
    [digestKey],
  );
  return rows.map((row) => ({ batchLogId: batchLogIdOf(row.batch_log_id), traceHeaders: row.trace_headers }));
}

/** The oldest message due on `routes`: pending, or claimed by a dispatcher whose claim ran out. */
async function oldestDue(client: pg.ClientBase, routes: readonly string[]): Promise<DueRow | undefined> {
  const { rows } = await client.query<DueRow>(
    `SELECT event_key, route, state, announces_final, possible_repeat, occurred_at FROM notifications
     WHERE route = ANY($1::text[])
       AND (state = 'pending'
            OR (state = 'sending' AND (claim_expires_at IS NULL OR claim_expires_at < clock_timestamp())))
     ORDER BY occurred_at, created_at, event_key
     LIMIT 1`,
    [routes],
  );
  return rows[0];
}

/**
 * Bundles the final-status messages due within the window of `head` into a new digest message when there are
 * more than the threshold; returns the digest's key, or null when `head` goes out alone. Messages that may
 * already have been posted are never bundled: they go out alone, flagged.
 */
async function bundleDigest(
  client: pg.ClientBase,
  head: DueRow,
  policy: DigestPolicy,
): Promise<string | null> {
  const { rows } = await client.query<{
    event_key: string;
    batch_log_id: string | null;
    severity: NotificationSeverity;
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
  const severity = entries.reduce<NotificationSeverity>(
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

/**
 * Claims the next message for one webhook, if the webhook's shared bucket allows a POST now: the oldest due
 * message of its routes (or a digest of the final-status messages due with it), and holds the webhook for the
 * attempt. One transaction, under the webhook's pacing row lock, so replicas take turns.
 */
export async function claimNextNotification(
  db: TransactionSource,
  options: ClaimOptions,
): Promise<DispatchClaim> {
  return withTransaction(db, async (client) => {
    const waitMs = await lockWebhookPace(client, options.webhookKey);
    if (waitMs > 0) return { kind: 'wait', waitMs };
    const head = await oldestDue(client, options.routes);
    if (!head) return { kind: 'idle' };
    const bundle =
      options.digest && head.state === 'pending' && head.announces_final && !head.possible_repeat
        ? await bundleDigest(client, head, options.digest)
        : null;
    const { rows } = await client.query<ClaimedRow>(
      `UPDATE notifications
       SET state = 'sending', attempts = attempts + 1, claimed_by = $2,
           claim_expires_at = clock_timestamp() + $3 * interval '1 millisecond',
           possible_repeat = possible_repeat OR state = 'sending'
       WHERE event_key = $1
       RETURNING event_key, kind, route, severity, occurred_at, batch_log_id, text, blocks, trace_headers, attempts,
                 possible_repeat`,
      [bundle ?? head.event_key, options.instanceId, options.holdMs],
    );
    await holdWebhook(client, options.webhookKey, options.instanceId, options.holdMs);
    const row = rows[0]!;
    const bundled = row.kind === 'digest' ? await bundledEntries(client, row.event_key) : [];
    return {
      kind: 'claimed',
      notification: {
        eventKey: row.event_key,
        kind: row.kind,
        route: row.route,
        severity: row.severity,
        occurredAt: row.occurred_at,
        batchLogId: batchLogIdOf(row.batch_log_id),
        text: row.text,
        blocks: row.blocks,
        traceHeaders: row.trace_headers,
        bundled,
        attempts: row.attempts,
        possibleRepeat: row.possible_repeat,
      },
    };
  });
}

/** How one attempt ended. */
export type DispatchOutcome =
  /** Slack accepted it (200 `ok`), or it was written to the log. */
  | { kind: 'delivered'; via: 'slack' | 'log' }
  /** 429: retried after `Retry-After`. */
  | { kind: 'rate_limited'; retryAfterMs: number; error: string }
  /** 5xx, connection error or timeout: retried with backoff; `possiblyDelivered` when the POST may have landed. */
  | { kind: 'transient'; error: string; possiblyDelivered: boolean }
  /** Slack refused it for good (`invalid_payload`, `channel_not_found`, ...): not retried. */
  | { kind: 'refused'; code: string; error: string };

export interface CompleteOptions {
  webhookKey: string;
  eventKey: string;
  instanceId: string;
  outcome: DispatchOutcome;
  minIntervalMs: number;
  backoffMs(consecutiveFailures: number): number;
}

export interface Completion extends WebhookHealth {
  /** False when this instance's claim had run out and another dispatcher took the message over. */
  recorded: boolean;
}

const MAX_ERROR_LENGTH = 500;
const errorText = (error: string): string => redactSecretsIn(error).slice(0, MAX_ERROR_LENGTH);

async function recordOutcome(
  client: pg.ClientBase,
  eventKey: string,
  instanceId: string,
  outcome: DispatchOutcome,
): Promise<boolean> {
  const claimed = `WHERE event_key = $1 AND state = 'sending' AND claimed_by = $2`;
  switch (outcome.kind) {
    case 'delivered': {
      const result = await client.query(
        `UPDATE notifications SET state = $3, sent_at = now(), claim_expires_at = NULL ${claimed}`,
        [eventKey, instanceId, outcome.via === 'slack' ? 'sent' : 'logged'],
      );
      return result.rowCount === 1;
    }
    case 'refused': {
      const result = await client.query(
        `UPDATE notifications SET state = 'failed', error_code = $3, last_error = $4, claim_expires_at = NULL
         ${claimed}`,
        [eventKey, instanceId, outcome.code, errorText(outcome.error)],
      );
      return result.rowCount === 1;
    }
    default: {
      const possiblyDelivered = outcome.kind === 'transient' && outcome.possiblyDelivered;
      const result = await client.query(
        `UPDATE notifications
         SET state = 'pending', claimed_by = NULL, claim_expires_at = NULL, last_error = $3,
             possible_repeat = possible_repeat OR $4
         ${claimed}`,
        [eventKey, instanceId, errorText(outcome.error), possiblyDelivered],
      );
      return result.rowCount === 1;
    }
  }
}

/**
 * Records how an attempt ended and releases the webhook for the next slot, in one transaction. A delivered
 * final-status message (or digest) stamps `final_notified_at` on its batch logs.
 */
export async function completeNotification(
  db: TransactionSource,
  options: CompleteOptions,
): Promise<Completion> {
  const { outcome } = options;
  return withTransaction(db, async (client) => {
    const recorded = await recordOutcome(client, options.eventKey, options.instanceId, outcome);
    if (recorded && outcome.kind === 'delivered') {
      await client.query(
        `UPDATE batch_jobs_vp_logs SET final_notified_at = now()
         WHERE final_notified_at IS NULL AND id IN (
           SELECT batch_log_id FROM notifications
           WHERE announces_final AND batch_log_id IS NOT NULL AND (event_key = $1 OR digest_key = $1))`,
        [options.eventKey],
      );
    }
    const health = await releaseWebhook(client, {
      webhookKey: options.webhookKey,
      instanceId: options.instanceId,
      answer:
        outcome.kind === 'rate_limited'
          ? outcome
          : outcome.kind === 'transient'
            ? { kind: 'unreachable', error: outcome.error }
            : { kind: 'answered' },
      minIntervalMs: options.minIntervalMs,
      backoffMs: options.backoffMs,
    });
    return { recorded, ...health };
  });
}
