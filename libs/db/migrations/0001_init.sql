-- batchline schema, version 1. Contract tables (§3) keep their names and meanings; the rest is ours.

CREATE TABLE IF NOT EXISTS wl_spec_vps (
  id   bigint PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE IF NOT EXISTS batch_jobs_vp_logs (
  id                  bigserial PRIMARY KEY,
  batch_id            text        NOT NULL,
  provider            text        NOT NULL CHECK (provider IN ('openai', 'anthropic')),
  job_type            text        NOT NULL DEFAULT 'specific_viewpoint',
  model               text,
  total_sentences     int         NOT NULL DEFAULT 0,
  processed_sentences int         NOT NULL DEFAULT 0,
  failed_sentences    int         NOT NULL DEFAULT 0,
  -- 1 pending, 2 completed, 9 failed; 2 and 9 are final (enforced by trigger below)
  status              smallint    NOT NULL DEFAULT 1 CHECK (status IN (1, 2, 9)),
  log_details         jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  -- provider view, written by the poller
  provider_status     text,
  request_counts      jsonb,
  input_file_id       text,
  output_file_id      text,
  error_file_id       text,
  -- poll schedule and lease (poller); all times from the database clock
  poll_attempt        int         NOT NULL DEFAULT 0,
  next_poll_at        timestamptz NOT NULL DEFAULT now(),
  lease_owner         text,
  lease_until         timestamptz,
  lease_version       bigint      NOT NULL DEFAULT 0,
  -- the three stamps of a batch's end, each set once by its owner
  provider_terminal_at timestamptz,  -- poller: the provider reported a terminal state (or we ended it)
  results_landed_at    timestamptz,  -- persister: every result chunk committed, status set to 2 or 9
  final_notified_at    timestamptz,  -- notifier: the final Slack message went out
  -- number of result chunks the fetcher published; known once the last chunk arrives
  expected_chunks     int,
  -- the fetcher's summary of the whole batch, carried by the last chunk (which may land before the others)
  results_summary     jsonb,
  -- the last failed status check (cleared by the next successful one), for operators
  last_poll_error     text,
  last_poll_error_at  timestamptz,
  UNIQUE (provider, batch_id)
);

CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_due_idx
  ON batch_jobs_vp_logs (next_poll_at) WHERE status = 1 AND provider_terminal_at IS NULL;
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_created_idx ON batch_jobs_vp_logs (created_at);

-- A final status (2 or 9) never changes again, whoever writes.
CREATE OR REPLACE FUNCTION batchline_keep_final_status() RETURNS trigger AS $$
BEGIN
  IF OLD.status IN (2, 9) AND NEW.status IS DISTINCT FROM OLD.status THEN
    RAISE EXCEPTION 'batch log % is final (status %), refusing status %', OLD.id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS batch_jobs_vp_logs_keep_final ON batch_jobs_vp_logs;
CREATE TRIGGER batch_jobs_vp_logs_keep_final BEFORE UPDATE OF status ON batch_jobs_vp_logs
  FOR EACH ROW EXECUTE FUNCTION batchline_keep_final_status();

-- updated_at follows every write, whoever writes.
CREATE OR REPLACE FUNCTION batchline_touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS batch_jobs_vp_logs_touch ON batch_jobs_vp_logs;
CREATE TRIGGER batch_jobs_vp_logs_touch BEFORE UPDATE ON batch_jobs_vp_logs
  FOR EACH ROW EXECUTE FUNCTION batchline_touch_updated_at();

CREATE TABLE IF NOT EXISTS review_sentences_wl_spec_vp (
  review_sentence_id bigint      NOT NULL,
  wl_spec_vp_id      bigint      NOT NULL REFERENCES wl_spec_vps (id),
  batch_log_id       bigint      NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (review_sentence_id, wl_spec_vp_id)
);
CREATE INDEX IF NOT EXISTS review_sentences_wl_spec_vp_batch_idx ON review_sentences_wl_spec_vp (batch_log_id);

CREATE TABLE IF NOT EXISTS batch_request_results (
  batch_log_id      bigint      NOT NULL,
  custom_id         text        NOT NULL,
  outcome           text        NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
  error_code        text,
  error_message     text,
  -- NULL when the custom_id could not be attributed to a review sentence
  review_sentence_id bigint,
  prompt_tokens     int,
  completion_tokens int,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (batch_log_id, custom_id)
);

-- One row per applied result chunk: makes a redelivered or replayed chunk a no-op.
CREATE TABLE IF NOT EXISTS batch_result_chunks (
  batch_log_id  bigint      NOT NULL,
  chunk_seq     int         NOT NULL,
  records       int         NOT NULL,  -- records the chunk carried
  succeeded     int         NOT NULL,  -- added to processed_sentences by this chunk
  failed        int         NOT NULL,  -- added to failed_sentences by this chunk
  associations  int         NOT NULL,  -- rows this chunk actually inserted into review_sentences_wl_spec_vp
  applied_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_log_id, chunk_seq)
);

-- Transactional outbox: events written in the same transaction as the state change they announce.
CREATE TABLE IF NOT EXISTS outbox (
  id           bigserial PRIMARY KEY,
  subject      text        NOT NULL,
  msg_id       text        NOT NULL UNIQUE,
  payload      jsonb       NOT NULL,
  headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- What the notifier sent, keyed by the event it announces: a redelivered event never posts twice.
CREATE TABLE IF NOT EXISTS notifications (
  event_key   text PRIMARY KEY,
  kind        text        NOT NULL,
  batch_log_id bigint,
  state       text        NOT NULL CHECK (state IN ('sending', 'sent', 'logged', 'failed')),
  attempts    int         NOT NULL DEFAULT 0,
  text        text        NOT NULL,
  last_error  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);
