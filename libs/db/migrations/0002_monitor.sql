-- batchline schema, version 2: what the monitor (admin API, dashboard, alerts) needs.
-- services/monitor/README.md defines every figure computed from these tables.

-- Polling control, written by the monitor and read by the poller's lease query: a paused batch is not checked,
-- and among due batches the higher priority is checked first.
ALTER TABLE batch_jobs_vp_logs
  ADD COLUMN IF NOT EXISTS polling_paused boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS poll_priority int NOT NULL DEFAULT 0,
  -- the first status check that found the provider working on the batch (set by the trigger below)
  ADD COLUMN IF NOT EXISTS provider_started_at timestamptz;

ALTER TABLE batch_jobs_vp_logs DROP CONSTRAINT IF EXISTS batch_jobs_vp_logs_poll_priority_range;
ALTER TABLE batch_jobs_vp_logs
  ADD CONSTRAINT batch_jobs_vp_logs_poll_priority_range CHECK (poll_priority BETWEEN -100 AND 100);

-- One row: pauses every status check at once.
CREATE TABLE IF NOT EXISTS polling_control (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  paused     boolean     NOT NULL DEFAULT false,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text
);
INSERT INTO polling_control (singleton) VALUES (true) ON CONFLICT DO NOTHING;

-- Pending batches by creation, for the live part of the monitor's figures; and the job list filtered by status.
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_pending_created_idx
  ON batch_jobs_vp_logs (created_at) WHERE status = 1;
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_status_created_idx ON batch_jobs_vp_logs (status, created_at);

-- provider_started_at: when a status check first saw the provider working on the batch (or done with some of it).
CREATE OR REPLACE FUNCTION batchline_note_provider_start() RETURNS trigger AS $$
BEGIN
  IF NEW.provider_started_at IS NULL AND (
       NEW.provider_status IN ('in_progress', 'finalizing', 'completed', 'ended')
       OR (NEW.provider_status IN ('cancelling', 'cancelled', 'expired')
           AND COALESCE((NEW.request_counts ->> 'completed')::int, 0)
             + COALESCE((NEW.request_counts ->> 'failed')::int, 0) > 0)) THEN
    NEW.provider_started_at := now();
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS batch_jobs_vp_logs_note_start ON batch_jobs_vp_logs;
CREATE TRIGGER batch_jobs_vp_logs_note_start BEFORE UPDATE OF provider_status ON batch_jobs_vp_logs
  FOR EACH ROW EXECUTE FUNCTION batchline_note_provider_start();

-- The figures of a batch once it is final. A final batch never changes again (status, counts and result rows
-- are settled when its status is set), so its figures are computed once, in the transaction that sets the final
-- status, and the monitor aggregates this narrow table instead of millions of result rows.
CREATE TABLE IF NOT EXISTS monitor_batch_facts (
  batch_log_id      bigint PRIMARY KEY,
  provider          text        NOT NULL,
  job_type          text        NOT NULL,
  model             text,
  status            smallint    NOT NULL CHECK (status IN (2, 9)),
  created_at        timestamptz NOT NULL,
  started_at        timestamptz,
  landed_at         timestamptz NOT NULL,
  total_requests    int         NOT NULL,
  succeeded         int         NOT NULL,
  failed            int         NOT NULL,
  prompt_tokens     bigint      NOT NULL,
  completion_tokens bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_batch_facts_created_idx ON monitor_batch_facts (created_at);
CREATE INDEX IF NOT EXISTS monitor_batch_facts_landed_idx ON monitor_batch_facts (landed_at);

-- The facts summed by hour of creation (UTC), job type, provider, model ('' when unknown) and final status, so
-- that figures over a month read a few thousand rows; written together with the facts.
CREATE TABLE IF NOT EXISTS monitor_hourly_facts (
  hour              timestamptz      NOT NULL,
  job_type          text             NOT NULL,
  provider          text             NOT NULL,
  model             text             NOT NULL,
  status            smallint         NOT NULL,
  jobs              int              NOT NULL,
  total_requests    bigint           NOT NULL,
  succeeded         bigint           NOT NULL,
  failed            bigint           NOT NULL,
  prompt_tokens     bigint           NOT NULL,
  completion_tokens bigint           NOT NULL,
  -- sum over the jobs of (landed_at - created_at), in milliseconds
  processing_ms     double precision NOT NULL,
  PRIMARY KEY (hour, job_type, provider, model, status)
);

-- Adds facts to their hourly sums.
CREATE OR REPLACE FUNCTION monitor_add_hourly_facts(facts monitor_batch_facts[]) RETURNS void AS $$
  INSERT INTO monitor_hourly_facts AS h (hour, job_type, provider, model, status, jobs, total_requests, succeeded,
    failed, prompt_tokens, completion_tokens, processing_ms)
  SELECT date_trunc('hour', f.created_at, 'UTC'), f.job_type, f.provider, COALESCE(f.model, ''), f.status, count(*),
         sum(f.total_requests), sum(f.succeeded), sum(f.failed), sum(f.prompt_tokens), sum(f.completion_tokens),
         sum(extract(epoch FROM f.landed_at - f.created_at) * 1000)
  FROM unnest(facts) f
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, job_type, provider, model, status) DO UPDATE SET
    jobs = h.jobs + EXCLUDED.jobs,
    total_requests = h.total_requests + EXCLUDED.total_requests,
    succeeded = h.succeeded + EXCLUDED.succeeded,
    failed = h.failed + EXCLUDED.failed,
    prompt_tokens = h.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = h.completion_tokens + EXCLUDED.completion_tokens,
    processing_ms = h.processing_ms + EXCLUDED.processing_ms;
$$ LANGUAGE sql;

-- Failed requests of a final batch by error code.
CREATE TABLE IF NOT EXISTS monitor_batch_errors (
  batch_log_id bigint NOT NULL,
  error_code   text   NOT NULL,
  requests     int    NOT NULL,
  PRIMARY KEY (batch_log_id, error_code)
);

-- Records a batch's facts when it becomes final (in the transaction that sets the final status).
CREATE OR REPLACE FUNCTION batchline_record_final_batch() RETURNS trigger AS $$
DECLARE
  recorded monitor_batch_facts[];
BEGIN
  WITH inserted AS (
    INSERT INTO monitor_batch_facts (batch_log_id, provider, job_type, model, status, created_at, started_at,
      landed_at, total_requests, succeeded, failed, prompt_tokens, completion_tokens)
    SELECT NEW.id, NEW.provider, NEW.job_type, NEW.model, NEW.status, NEW.created_at, NEW.provider_started_at,
           COALESCE(NEW.results_landed_at, now()), NEW.total_sentences, NEW.processed_sentences,
           NEW.failed_sentences, COALESCE(sum(r.prompt_tokens), 0), COALESCE(sum(r.completion_tokens), 0)
    FROM batch_request_results r WHERE r.batch_log_id = NEW.id
    ON CONFLICT (batch_log_id) DO NOTHING
    RETURNING *
  )
  SELECT array_agg(inserted::monitor_batch_facts) INTO recorded FROM inserted;
  IF recorded IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM monitor_add_hourly_facts(recorded);
  INSERT INTO monitor_batch_errors (batch_log_id, error_code, requests)
  SELECT NEW.id, COALESCE(r.error_code, 'unknown'), count(*)
  FROM batch_request_results r WHERE r.batch_log_id = NEW.id AND r.outcome = 'failed'
  GROUP BY 2
  ON CONFLICT (batch_log_id, error_code) DO NOTHING;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS batch_jobs_vp_logs_record_final ON batch_jobs_vp_logs;
CREATE TRIGGER batch_jobs_vp_logs_record_final AFTER UPDATE OF status ON batch_jobs_vp_logs
  FOR EACH ROW WHEN (OLD.status = 1 AND NEW.status IN (2, 9))
  EXECUTE FUNCTION batchline_record_final_batch();

-- Records the facts of every final batch that has none, in one pass (for batches that were final before this
-- migration, and for bulk loads that insert final rows directly); returns how many it recorded.
CREATE OR REPLACE FUNCTION monitor_backfill_batch_facts() RETURNS bigint AS $$
DECLARE
  recorded monitor_batch_facts[];
BEGIN
  WITH missing AS (
    SELECT b.* FROM batch_jobs_vp_logs b
    WHERE b.status IN (2, 9) AND NOT EXISTS (SELECT 1 FROM monitor_batch_facts f WHERE f.batch_log_id = b.id)
  ), usage AS (
    SELECT r.batch_log_id, sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens
    FROM batch_request_results r JOIN missing m ON m.id = r.batch_log_id
    GROUP BY r.batch_log_id
  ), inserted AS (
    INSERT INTO monitor_batch_facts (batch_log_id, provider, job_type, model, status, created_at, started_at,
      landed_at, total_requests, succeeded, failed, prompt_tokens, completion_tokens)
    SELECT m.id, m.provider, m.job_type, m.model, m.status, m.created_at, m.provider_started_at,
           COALESCE(m.results_landed_at, m.updated_at), m.total_sentences, m.processed_sentences,
           m.failed_sentences, COALESCE(u.prompt_tokens, 0), COALESCE(u.completion_tokens, 0)
    FROM missing m LEFT JOIN usage u ON u.batch_log_id = m.id
    ON CONFLICT (batch_log_id) DO NOTHING
    RETURNING *
  )
  SELECT array_agg(inserted::monitor_batch_facts) INTO recorded FROM inserted;
  IF recorded IS NULL THEN
    RETURN 0;
  END IF;
  PERFORM monitor_add_hourly_facts(recorded);
  INSERT INTO monitor_batch_errors (batch_log_id, error_code, requests)
  SELECT r.batch_log_id, COALESCE(r.error_code, 'unknown'), count(*)
  FROM batch_request_results r JOIN unnest(recorded) f ON f.batch_log_id = r.batch_log_id
  WHERE r.outcome = 'failed'
  GROUP BY r.batch_log_id, COALESCE(r.error_code, 'unknown')
  ON CONFLICT (batch_log_id, error_code) DO NOTHING;
  RETURN cardinality(recorded);
END
$$ LANGUAGE plpgsql;

SELECT monitor_backfill_batch_facts();

-- Retries: a batch's failed requests resubmitted as a new batch. One retry per batch (the primary key), claimed
-- before the provider is called so that concurrent requests cannot submit twice.
CREATE TABLE IF NOT EXISTS batch_retries (
  original_batch_log_id bigint PRIMARY KEY,
  state                 text        NOT NULL CHECK (state IN ('submitting', 'submitted')),
  retry_batch_log_id    bigint UNIQUE,
  requests              int,
  requested_by          text        NOT NULL,
  requested_at          timestamptz NOT NULL DEFAULT now(),
  submitted_at          timestamptz
);

-- Every access to the admin API and every action, with who (a token label, never the token), what, on what,
-- and the outcome. Append-only: rows cannot be changed or deleted (retention is an operator's TRUNCATE or
-- partition drop).
CREATE TABLE IF NOT EXISTS audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text        NOT NULL,
  action      text        NOT NULL,
  target      text,
  outcome     text        NOT NULL
    CHECK (outcome IN ('success', 'started', 'failed', 'denied', 'invalid', 'rate_limited')),
  status_code int,
  request_id  text,
  client_ip   text,
  method      text,
  route       text,
  details     jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);

CREATE OR REPLACE FUNCTION batchline_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION batchline_audit_append_only();

-- Alert rules (one row): thresholds (NULL turns a rule off), channels, suppression and evaluation windows.
CREATE TABLE IF NOT EXISTS alert_config (
  singleton                   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  error_rate_percent          double precision CHECK (error_rate_percent BETWEEN 0 AND 100),
  processing_time_ms          bigint CHECK (processing_time_ms > 0),
  min_jobs_per_hour           double precision CHECK (min_jobs_per_hour >= 0),
  stuck_batch_ms              bigint CHECK (stuck_batch_ms > 0),
  failed_batches              int CHECK (failed_batches >= 1),
  channels                    text[]      NOT NULL,
  suppression_ms              bigint      NOT NULL CHECK (suppression_ms > 0),
  evaluation_window_ms        bigint      NOT NULL CHECK (evaluation_window_ms > 0),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  updated_by                  text
);
INSERT INTO alert_config (singleton, error_rate_percent, processing_time_ms, min_jobs_per_hour, stuck_batch_ms,
  failed_batches, channels, suppression_ms, evaluation_window_ms)
VALUES (true, 10, 3600000, NULL, 1800000, 1, '{slack}', 3600000, 3600000)
ON CONFLICT DO NOTHING;

-- When each condition last raised an alert: the suppression window runs from there.
CREATE TABLE IF NOT EXISTS alert_state (
  condition      text PRIMARY KEY,
  last_raised_at timestamptz
);
INSERT INTO alert_state (condition)
VALUES ('high_error_rate'), ('long_processing_time'), ('low_throughput'), ('stuck_batches'), ('batch_failures')
ON CONFLICT DO NOTHING;

-- Alerts raised (each also published as `alert.raised` through the outbox).
CREATE TABLE IF NOT EXISTS alerts (
  id            bigserial PRIMARY KEY,
  condition     text             NOT NULL,
  severity      text             NOT NULL,
  message       text             NOT NULL,
  value         double precision NOT NULL,
  threshold     double precision NOT NULL,
  batch_log_ids bigint[]         NOT NULL DEFAULT '{}',
  channels      text[]           NOT NULL,
  window_ms     bigint           NOT NULL,
  raised_at     timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alerts_raised_idx ON alerts (raised_at);
