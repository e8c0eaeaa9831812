import type { Pool } from '@batchline/db';
import { BatchStatus } from '@batchline/domain';

export interface SeededHistory {
  /** Days of history, one day apart, the newest today. */
  days: number;
  /** Rows per day of each family (audit, notifications, alerts, outbox, poll cycles). */
  perDay: number;
  /** Requests of each day's finished batch (one a day): outcomes, request ids and one association each. */
  requestsPerBatch: number;
  /**
   * Also an unpublished outbox row as old as the oldest day (default true). Its subject has no stream: with an
   * outbox relay running it would block the relay, which publishes in order.
   */
  unpublishedOutbox?: boolean;
}

/**
 * A year (or `days`) of batchline's history in every table retention purges, written with generate_series, for
 * the retention tests. Per day: `perDay` audit records, sent notifications, delivered webhooks, alerts, published
 * outbox rows and poll cycles, one completed batch (updated that day) with its request ids, outcomes and
 * associations, and one finished job with its recorded inputs. Besides: one pending notification, one pending
 * webhook delivery, one pending batch's outcomes, one running job's inputs and (unless asked not to) one
 * unpublished outbox row, all as old as the oldest day (what retention must keep). Review sentence ids start at `sentenceBase` (keep them apart from other batches').
 */
export async function seedHistory(
  pool: Pool,
  { days, perDay, requestsPerBatch, unpublishedOutbox = true }: SeededHistory,
  sentenceBase = 900_000_000,
): Promise<void> {
  const day = "now() - d * interval '1 day'";
  const series = `generate_series(0, ${days - 1}) AS d, generate_series(1, ${perDay}) AS n`;
  await pool.query(`INSERT INTO audit_log (at, actor, action, outcome)
    SELECT ${day}, 'seed', 'monitoring.read', 'success' FROM ${series}`);
  await pool.query(`INSERT INTO notifications (event_key, kind, state, text, occurred_at, created_at)
    SELECT 'seed:' || d || ':' || n, 'seed', 'sent', 'seeded', ${day}, ${day} FROM ${series}`);
  await pool.query(`INSERT INTO alerts (condition, severity, message, value, threshold, channels, window_ms, raised_at)
    SELECT 'high_error_rate', 'high', 'seeded', 1, 1, '{slack}', 1, ${day} FROM ${series}`);
  await pool.query(`INSERT INTO outbox (subject, msg_id, payload, created_at, published_at)
    SELECT 'seed', 'seed:' || d || ':' || n, '{}'::jsonb, ${day}, ${day} FROM ${series}`);
  await pool.query(`INSERT INTO poller_cycles (owner, started_at, duration_ms, lease_ms, leased, checked,
      transitions, terminal, completed)
    SELECT 'seed', ${day}, 1, 1, 1, 1, 0, 0, 0 FROM ${series}`);

  // One finished batch a day, final that day, with its requests; then one pending batch as old as the oldest.
  await pool.query(
    `INSERT INTO batch_jobs_vp_logs (batch_id, provider, model, total_sentences, processed_sentences, status,
       created_at, updated_at, results_landed_at)
     SELECT 'seed-' || d, 'openai', 'gpt-4o-mini', $1, $1, ${BatchStatus.completed}, ${day}, ${day}, ${day}
     FROM generate_series(0, ${days - 1}) AS d`,
    [requestsPerBatch],
  );
  await pool.query(
    `INSERT INTO batch_jobs_vp_logs (batch_id, provider, model, total_sentences, status, created_at, updated_at)
     VALUES ('seed-pending', 'openai', 'gpt-4o-mini', $1, ${BatchStatus.pending},
             now() - $2 * interval '1 day', now() - $2 * interval '1 day')`,
    [requestsPerBatch, days - 1],
  );
  const seeded = `SELECT id, row_number() OVER (ORDER BY id) AS k FROM batch_jobs_vp_logs WHERE batch_id LIKE 'seed-%'`;
  const sentence = `${sentenceBase} + b.k * 100000 + r`;
  await pool.query(`INSERT INTO batch_request_results (batch_log_id, custom_id, outcome, review_sentence_id,
      prompt_tokens, completion_tokens, created_at)
    SELECT b.id, 'rs-' || (${sentence}), 'succeeded', ${sentence}, 10, 3, now()
    FROM (${seeded}) b, generate_series(1, ${requestsPerBatch}) AS r`);
  await pool.query(`INSERT INTO batch_request_ids (batch_log_id, sentence_ids)
    SELECT b.id, array(SELECT ${sentence} FROM generate_series(1, ${requestsPerBatch}) AS r) FROM (${seeded}) b`);
  await pool.query(`INSERT INTO review_sentences_wl_spec_vp (review_sentence_id, wl_spec_vp_id, batch_log_id)
    SELECT ${sentence}, (SELECT min(id) FROM wl_spec_vps), b.id
    FROM (${seeded}) b, generate_series(1, ${requestsPerBatch}) AS r`);

  // One finished job a day with its recorded inputs, and one running job as old as the oldest.
  const job = (outcome: string, finalizedAt: string, createdAt: string) =>
    `INSERT INTO batch_jobs (job_type, provider, model, origin, total_requests, outcome, finalized_at, created_at)
     SELECT 'specific_viewpoint', 'openai', 'gpt-4o-mini', 'submit', ${requestsPerBatch}, ${outcome}, ${finalizedAt}, ${createdAt}`;
  await pool.query(`${job("'succeeded'", day, day)} FROM generate_series(0, ${days - 1}) AS d`);
  await pool.query(job('NULL', 'NULL', `now() - ${days - 1} * interval '1 day'`));
  await pool.query(`INSERT INTO batch_job_inputs (batch_job_id, request_id, fields)
    SELECT j.id, r::text, '{"text": "seeded"}'::jsonb FROM batch_jobs j, generate_series(1, ${requestsPerBatch}) AS r`);
  await pool.query(`INSERT INTO webhook_deliveries (event_id, subject, endpoint, url_hash, body, state, attempts,
      delivered_at, created_at, updated_at)
    SELECT 'batch.finalized:seed-' || d || '-' || n, 'batch.finalized', 'SEED_WEBHOOK_URL', 'seed', '{}', 'delivered', 1,
           now() - d * interval '1 day', now() - d * interval '1 day', now() - d * interval '1 day'
    FROM ${series}`);

  // What is still owed, however old: an unpublished event, an undelivered message and webhook delivery.
  if (unpublishedOutbox) {
    await pool.query(
      `INSERT INTO outbox (subject, msg_id, payload, created_at) VALUES ('seed', 'seed:unpublished', '{}', now() - $1 * interval '1 day')`,
      [days - 1],
    );
  }
  await pool.query(
    `INSERT INTO notifications (event_key, kind, state, text, occurred_at)
     VALUES ('seed:pending', 'seed', 'pending', 'seeded', now() - $1 * interval '1 day')`,
    [days - 1],
  );
  await pool.query(
    `INSERT INTO webhook_deliveries (event_id, subject, endpoint, url_hash, body, created_at, updated_at)
     VALUES ('batch.finalized:seed-pending', 'batch.finalized', 'SEED_WEBHOOK_URL', 'seed', '{}',
             now() - $1 * interval '1 day', now() - $1 * interval '1 day')`,
    [days - 1],
  );
}
