import { setting } from './setting.ts';
import { duration, integer } from './values.ts';

/**
 * How long batchline keeps its own history, in days. `BATCH_MONITORING_RETENTION_DAYS` applies to every family of
 * tables; a family's own variable, when set, replaces it for that family. The landed results (the target tables)
 * and the batch logs are the user's data and are never purged.
 */
const days = (family: string) =>
  setting(integer(1, 36_500), {
    description: `days to keep ${family}; unset: BATCH_MONITORING_RETENTION_DAYS`,
    fix: 'Use a whole number of days between 1 and 36500, or leave it unset.',
  });

export const RetentionSettings = {
  BATCH_MONITORING_RETENTION_DAYS: setting(integer(1, 36_500), {
    description:
      "days to keep batchline's history (audit, notifications, alerts, outcomes, outbox, poll cycles)",
    default: '30',
    fix: 'Use a whole number of days between 1 and 36500, such as 30.',
  }),
  RETENTION_AUDIT_LOG_DAYS: days('the audit log'),
  RETENTION_NOTIFICATIONS_DAYS: days('sent, logged, failed and digested Slack notifications'),
  RETENTION_ALERTS_DAYS: days('the history of raised alerts'),
  RETENTION_REQUEST_OUTCOMES_DAYS: days('the request ids and outcomes of batches final this long'),
  RETENTION_OUTBOX_DAYS: days('outbox rows published this long ago'),
  RETENTION_POLL_CYCLES_DAYS: days("the poller's cycle records"),
};

/** How the monitor runs the purge. */
export const RetentionPurgeSettings = {
  RETENTION_PURGE_INTERVAL: setting(duration, {
    description: 'time between two purges of old history (one replica purges, the others wait)',
    default: '1d',
  }),
  RETENTION_PURGE_BATCH_ROWS: setting(integer(1, 100_000), {
    description: 'rows one purge statement deletes (each in its own short transaction)',
    default: '1000',
    fix: 'Use a whole number between 1 and 100000, such as 1000.',
  }),
  RETENTION_PURGE_PAUSE: setting(duration, {
    description: "pause between two purge statements, leaving the database to the pipeline's work",
    default: '50ms',
  }),
};
