-- batchline schema, version 17 (issue 17).

-- Readings the operational watches compare against (issue 17), shared by every replica: the DLQ's dead-letter
-- count as last read and when it last grew, so that replicas and restarts judge "the DLQ keeps growing" against
-- one baseline instead of each against its own previous reading.
CREATE TABLE IF NOT EXISTS ops_readings (
  key text PRIMARY KEY,
  -- The value last read, by whichever replica.
  value bigint NOT NULL,
  read_at timestamptz NOT NULL DEFAULT now(),
  -- When a reading last found the value above the one before it (NULL: never seen growing).
  grew_at timestamptz
);

-- Quiet hours on the clocks of an IANA time zone (issue 17): what `quiet_start_minute` and `quiet_end_minute`
-- mean, daylight saving time included. Existing rules keep their UTC quiet hours.
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS quiet_time_zone text NOT NULL DEFAULT 'UTC';

-- Cached input tokens per request (issue 17): the part of prompt_tokens the provider read from its prompt cache,
-- priced at the cached-input price. NULL: the provider did not say (and outcomes landed before this column).
ALTER TABLE batch_request_results ADD COLUMN IF NOT EXISTS cached_prompt_tokens int;
