-- Operational episodes (issue 17): one row per trouble that can last (a provider outage, database trouble, queue
-- trouble), shared by every replica so that each episode is announced once when it begins and once when it is
-- over, whatever replica sees it and across restarts. `episode` numbers the episodes of a key; an announcement's
-- occurrence id carries it, so a repeated announcement is dropped by the outbox, JetStream and the notifier.
CREATE TABLE IF NOT EXISTS ops_episodes (
  key text PRIMARY KEY,
  -- Episodes of this key announced so far (the open one included).
  episode integer NOT NULL DEFAULT 0,
  -- An episode was announced and its "over" message not yet.
  open boolean NOT NULL DEFAULT false,
  -- Since when the trouble has been seen without a success in between (NULL: healthy).
  failing_since timestamptz,
  last_trouble_at timestamptz,
  raised_at timestamptz,
  cleared_at timestamptz
);
