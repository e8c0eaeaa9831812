-- batchline schema, version 11: each alert rule's own cadence, quiet hours and scope (issue 17).

-- One row per alert rule (condition). Cadence: 'immediate' (each alert on its own), 'hourly' or 'daily' (the
-- rule's alerts of a UTC hour or day in one digest at its end). Quiet hours: minutes of the UTC day
-- [quiet_start_minute, quiet_end_minute), wrapping midnight when start > end; what falls due in them waits until
-- they end. A rule may watch one job type and/or one provider only.
CREATE TABLE IF NOT EXISTS alert_rules (
  condition          text PRIMARY KEY,
  cadence            text NOT NULL DEFAULT 'immediate' CHECK (cadence IN ('immediate', 'hourly', 'daily')),
  quiet_start_minute int CHECK (quiet_start_minute BETWEEN 0 AND 1439),
  quiet_end_minute   int CHECK (quiet_end_minute BETWEEN 0 AND 1439),
  job_type           text,
  provider           text CHECK (provider IN ('openai', 'anthropic')),
  CHECK ((quiet_start_minute IS NULL) = (quiet_end_minute IS NULL)),
  CHECK (quiet_start_minute IS DISTINCT FROM quiet_end_minute OR quiet_start_minute IS NULL)
);
INSERT INTO alert_rules (condition)
VALUES ('high_error_rate'), ('long_processing_time'), ('low_throughput'), ('stuck_batches'), ('batch_failures')
ON CONFLICT DO NOTHING;

-- An alert held for a digest (its rule's cadence, or quiet hours) is announced by the digest of its rule due at
-- `due_at`; a digest is itself an alerts row (`digest_of` = how many alerts it announces) and each held alert
-- points at it once sent.
ALTER TABLE alerts
  ADD COLUMN IF NOT EXISTS due_at      timestamptz,
  ADD COLUMN IF NOT EXISTS digested_in bigint,
  ADD COLUMN IF NOT EXISTS digest_of   int;
CREATE INDEX IF NOT EXISTS alerts_held_idx ON alerts (due_at) WHERE due_at IS NOT NULL AND digested_in IS NULL;

-- One digest per rule per due time, whichever monitor replica gets there first, once across restarts.
CREATE TABLE IF NOT EXISTS alert_digests (
  condition text        NOT NULL,
  due_at    timestamptz NOT NULL,
  alert_id  bigint      NOT NULL,
  sent_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (condition, due_at)
);
