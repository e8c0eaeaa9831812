import { type TransactionSource, withTransaction } from '@batchline/db';
import type { Severity } from '@batchline/domain';
import type pg from 'pg';
import {
  type BundledEntry,
  bundleDigest,
  bundledEntries,
  type DigestHead,
  type DigestPolicy,
} from './digest.ts';
import { batchLogIdOf, type NotificationRoute, type NotificationState } from './notification.ts';
import { holdWebhook, lockWebhookPace } from './webhook-pacing.ts';

/** A message handed out to one dispatcher for one attempt. */
export interface ClaimedNotification {
  eventKey: string;
  kind: string;
  route: NotificationRoute;
  severity: Severity;
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

interface DueRow extends DigestHead {
  state: NotificationState;
  announces_final: boolean;
  possible_repeat: boolean;
}

interface ClaimedRow {
  event_key: string;
  kind: string;
  route: NotificationRoute;
  severity: Severity;
  occurred_at: Date;
  batch_log_id: string | null;
  text: string;
  blocks: unknown[];
  trace_headers: Record<string, string>;
  attempts: number;
  possible_repeat: boolean;
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
