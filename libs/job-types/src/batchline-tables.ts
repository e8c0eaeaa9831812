import { unqualifiedName } from './sql-identifier.ts';

/**
 * The tables batchline's own migrations create (libs/db/migrations, plus the migration ledger). A user's job type
 * must not land its rows in one of them; a unit test keeps this list complete.
 */
export const BATCHLINE_TABLES: ReadonlySet<string> = new Set([
  'schema_migrations',
  'wl_spec_vps',
  'batch_jobs_vp_logs',
  'review_sentences_wl_spec_vp',
  'batch_request_results',
  'batch_result_chunks',
  'outbox',
  'notifications',
  'polling_control',
  'monitor_batch_facts',
  'monitor_hourly_facts',
  'monitor_batch_errors',
  'batch_retries',
  'batch_retry_rounds',
  'audit_log',
  'alert_config',
  'alert_state',
  'alerts',
  'provider_pauses',
  'poller_cycles',
  'slack_webhook_pacing',
  'batch_request_ids',
  'batch_request_answers',
  'retention_runs',
  'alert_rules',
  'alert_digests',
  'ops_episodes',
  'batch_jobs',
  'webhook_deliveries',
  'batcher_requests',
  'batcher_batches',
  'batcher_controls',
  'ops_readings',
  'batch_job_inputs',
  'batcher_group_status',
]);

/** Whether `name` (`table` or `schema.table`) is one of batchline's tables, which live in `public`. */
export function isBatchlineTable(name: string): boolean {
  const schema = name.includes('.') ? name.slice(0, name.indexOf('.')) : 'public';
  return schema === 'public' && BATCHLINE_TABLES.has(unqualifiedName(name));
}
