import type { Queryable } from '@batchline/db';
import type { Severity } from '@batchline/domain';
import type { NotificationRoute } from './notification.ts';

export interface NewNotification {
  /** The announced event, e.g. `final:<batchLogId>`: one message per key, ever. */
  eventKey: string;
  kind: string;
  route: NotificationRoute;
  severity: Severity;
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
