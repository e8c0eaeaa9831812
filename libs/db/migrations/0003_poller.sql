-- batchline schema, version 3: what the poller needs for its schedule, error handling, sweeps and figures.

ALTER TABLE batch_jobs_vp_logs
  -- the last status check recorded (or failed), and by which poller
  ADD COLUMN IF NOT EXISTS last_checked_at      timestamptz,
  ADD COLUMN IF NOT EXISTS last_checked_by      text,
  -- the last time the provider's status or request counts changed (NULL: none since submission)
  ADD COLUMN IF NOT EXISTS progress_at          timestamptz,
  -- failed checks in a row (5xx, timeouts, ...): the retry backoff grows with it; a successful check resets it
  ADD COLUMN IF NOT EXISTS poll_errors          int NOT NULL DEFAULT 0,
  -- the first 404 of the current run of them: the batch ends as not_found only after a confirming re-check
  ADD COLUMN IF NOT EXISTS not_found_at         timestamptz,
  -- when the poller asked the provider to cancel a batch past BATCH_MAX_AGE
  ADD COLUMN IF NOT EXISTS cancel_requested_at  timestamptz,
  -- the terminal `batch.status.changed` event, kept so that a sweep can drive the batch again
  ADD COLUMN IF NOT EXISTS terminal_event       jsonb,
  ADD COLUMN IF NOT EXISTS redrive_count        int NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS redriven_at          timestamptz,
  -- the last "no progress" alert about this batch
  ADD COLUMN IF NOT EXISTS stuck_alerted_at     timestamptz,
  -- the provider's copies (files, Anthropic results) were deleted after the results landed
  ADD COLUMN IF NOT EXISTS provider_files_deleted_at timestamptz;

-- The three stamps of a batch's end are each set once: whoever writes, a set stamp never changes again.
CREATE OR REPLACE FUNCTION batchline_keep_end_stamps() RETURNS trigger AS $$
BEGIN
  IF (OLD.provider_terminal_at IS NOT NULL AND NEW.provider_terminal_at IS DISTINCT FROM OLD.provider_terminal_at)
     OR (OLD.results_landed_at IS NOT NULL AND NEW.results_landed_at IS DISTINCT FROM OLD.results_landed_at)
     OR (OLD.final_notified_at IS NOT NULL AND NEW.final_notified_at IS DISTINCT FROM OLD.final_notified_at) THEN
    RAISE EXCEPTION 'batch log %: provider_terminal_at, results_landed_at and final_notified_at are set once', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS batch_jobs_vp_logs_keep_end_stamps ON batch_jobs_vp_logs;
CREATE TRIGGER batch_jobs_vp_logs_keep_end_stamps
  BEFORE UPDATE OF provider_terminal_at, results_landed_at, final_notified_at ON batch_jobs_vp_logs
  FOR EACH ROW EXECUTE FUNCTION batchline_keep_end_stamps();

-- Sweeps: provider-final batches whose results have not landed; pending batches without progress; landed
-- batches whose provider copies may be deleted.
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_unlanded_idx
  ON batch_jobs_vp_logs (provider_terminal_at) WHERE status = 1 AND provider_terminal_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_files_to_delete_idx
  ON batch_jobs_vp_logs (results_landed_at)
  WHERE results_landed_at IS NOT NULL AND provider_files_deleted_at IS NULL;

-- One pause per provider, shared by every poller replica: while it holds, no batch of that provider is checked.
-- A rate limit ends by itself at `paused_until`; an authentication failure, an exhausted quota or a systemic 404
-- ends only when a probe of the provider succeeds (one replica probes at a time, at most every `paused_until`).
CREATE TABLE IF NOT EXISTS provider_pauses (
  provider     text PRIMARY KEY CHECK (provider IN ('openai', 'anthropic')),
  kind         text        NOT NULL CHECK (kind IN ('rate_limited', 'quota', 'auth', 'not_found')),
  needs_probe  boolean     NOT NULL,
  paused_until timestamptz NOT NULL,
  reason       text        NOT NULL,
  since        timestamptz NOT NULL DEFAULT now(),
  probes       int         NOT NULL DEFAULT 0,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- What each poll cycle did (one row per cycle that leased work), for the monitor; old rows are swept.
CREATE TABLE IF NOT EXISTS poller_cycles (
  id            bigserial PRIMARY KEY,
  owner         text             NOT NULL,
  started_at    timestamptz      NOT NULL,
  duration_ms   double precision NOT NULL,
  lease_ms      double precision NOT NULL,
  leased        int              NOT NULL,
  checked       int              NOT NULL,
  transitions   int              NOT NULL,
  terminal      int              NOT NULL,  -- of which ended at the provider
  completed     int              NOT NULL,  -- of those, completed there (the rest failed, expired, were cancelled or lost)
  -- failed checks by kind (rate_limited, unavailable, timeout, auth, not_found, quota, bad_request, unknown)
  errors        jsonb            NOT NULL DEFAULT '{}'::jsonb,
  -- how long after falling due the leased batches were checked (largest and sum, for the mean)
  due_delay_max_ms double precision NOT NULL DEFAULT 0,
  due_delay_sum_ms double precision NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS poller_cycles_started_idx ON poller_cycles (started_at);
