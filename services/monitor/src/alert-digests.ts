import { withTransaction } from '@batchline/db';
import type { AlertChannel } from '@batchline/events';
import { digestOf } from './alert-cadence.ts';
import { ALERT_SEVERITY, type AlertEvaluationDeps, enqueueAlertRaised } from './alert-events.ts';
import {
  claimDigest,
  heldAlertsOf,
  listAlertRules,
  listDueDigests,
  recordDigest,
} from './store/alert-rules.ts';
import { getAlertConfig, insertAlert, type RaisedAlert } from './store/alerts.ts';

/**
 * Sends every digest that is due: per rule and due time, one transaction claims it (`alert_digests`, so exactly
 * one monitor sends it, once across restarts), records it as an alert (`digest_of` = how many it carries), marks
 * the held alerts as announced by it and enqueues its `alert.raised` event. Returns the digests sent.
 */
export async function sendDueDigests({ pool, metrics }: AlertEvaluationDeps): Promise<RaisedAlert[]> {
  const due = await listDueDigests(pool);
  if (due.length === 0) return [];
  const config = await getAlertConfig(pool);
  const rules = await listAlertRules(pool);
  const sent: RaisedAlert[] = [];
  for (const digest of due) {
    const cadence = rules.find((rule) => rule.condition === digest.condition)?.cadence ?? 'immediate';
    const row = await withTransaction(pool, async (client) => {
      if (!(await claimDigest(client, digest))) return null;
      const held = await heldAlertsOf(client, digest);
      if (held.length === 0) return null;
      const latest = held[held.length - 1]!;
      const alert = await insertAlert(client, {
        condition: digest.condition,
        severity: ALERT_SEVERITY[digest.condition],
        ...digestOf(cadence, held),
        channels: latest.channels as AlertChannel[],
        windowMs: latest.windowMs,
        digestOf: held.length,
      });
      await recordDigest(
        client,
        digest,
        alert.id,
        held.map((entry) => entry.id),
      );
      await enqueueAlertRaised(client, alert, config.suppressionMs);
      return alert;
    });
    if (row) {
      metrics.alertsRaised.inc({ condition: row.condition });
      sent.push(row);
    }
  }
  return sent;
}
