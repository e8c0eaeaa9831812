-- Retention (docs/operations.md, "Retention"): the monitor purges batchline's own history daily, in small
-- batches, one replica at a time. The landed results (review_sentences_wl_spec_vp, job types' target tables) and
-- the batch logs are the user's data and are never purged.
--
-- A purge transaction announces its cutoff with SET LOCAL batchline.retention_cutoff = '<timestamptz>'; the two
-- triggers below read it.

-- One row per purge job: the replica holding the lease purges; the others see last_finished_at and wait.
CREATE TABLE IF NOT EXISTS retention_runs (
  job              text PRIMARY KEY,
  holder           text,
  lease_until      timestamptz,
  last_started_at  timestamptz,
  last_finished_at timestamptz,
  -- rows the last finished run deleted, by table
  last_purged      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
INSERT INTO retention_runs (job) VALUES ('daily') ON CONFLICT DO NOTHING;

-- The audit log stays append-only, but a retention purge may delete rows older than its announced cutoff.
CREATE OR REPLACE FUNCTION batchline_audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND OLD.at < NULLIF(current_setting('batchline.retention_cutoff', true), '')::timestamptz THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

-- Purging the outcomes of a finished batch forgets their detail, not what the batch did: its counts stay
-- (replay's deletes, outside a purge, still take them off, see 0005_replay).
CREATE OR REPLACE FUNCTION batchline_uncount_deleted_results() RETURNS trigger AS $$
BEGIN
  IF NULLIF(current_setting('batchline.retention_cutoff', true), '') IS NOT NULL THEN
    RETURN NULL;
  END IF;
  UPDATE batch_jobs_vp_logs b
  SET processed_sentences = b.processed_sentences - d.succeeded,
      failed_sentences = b.failed_sentences - d.failed
  FROM (
    SELECT batch_log_id,
           count(*) FILTER (WHERE outcome = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE outcome = 'failed')::int AS failed
    FROM deleted_results
    GROUP BY batch_log_id
  ) d
  WHERE b.id = d.batch_log_id;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- The purge finds its oldest rows through these (audit_log, alerts and poller_cycles have theirs already).
CREATE INDEX IF NOT EXISTS outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_occurred_idx ON notifications (occurred_at);
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_final_updated_idx ON batch_jobs_vp_logs (updated_at)
  WHERE status IN (2, 9);
