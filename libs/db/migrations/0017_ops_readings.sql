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
