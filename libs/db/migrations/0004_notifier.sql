-- batchline schema: the notifier's Slack queue and the pacing every notifier replica shares.
-- Each announcement is recorded here, keyed by its event, before the event is acknowledged; dispatchers then send
-- the due ones in order of occurrence, at most one per second per webhook across all replicas.

-- `pending`: waiting to be sent; `sending`: claimed by one dispatcher (until `claim_expires_at`); `digested`:
-- listed in the digest message `digest_key`; `sent` / `logged` / `failed`: final.
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_state_check;
ALTER TABLE notifications
  ADD CONSTRAINT notifications_state_check
    CHECK (state IN ('pending', 'sending', 'sent', 'logged', 'failed', 'digested'));

ALTER TABLE notifications
  -- which webhook: 'default', 'critical' (SLACK_CRITICAL_WEBHOOK_URL, else the default) or 'log' (never Slack)
  ADD COLUMN IF NOT EXISTS route            text        NOT NULL DEFAULT 'default',
  ADD COLUMN IF NOT EXISTS severity         text        NOT NULL DEFAULT 'low'
    CHECK (severity IN ('critical', 'high', 'medium', 'low')),
  -- when the announced thing happened: messages go out in this order
  ADD COLUMN IF NOT EXISTS occurred_at      timestamptz NOT NULL DEFAULT now(),
  -- Block Kit blocks sent with `text`
  ADD COLUMN IF NOT EXISTS blocks           jsonb       NOT NULL DEFAULT '[]'::jsonb,
  -- announces a batch's final status: may be bundled into a digest, and stamps final_notified_at once out
  ADD COLUMN IF NOT EXISTS announces_final  boolean     NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS digest_key       text,
  ADD COLUMN IF NOT EXISTS claimed_by       text,
  ADD COLUMN IF NOT EXISTS claim_expires_at timestamptz,
  -- an earlier attempt may have reached Slack (a crash or timeout after posting): the next one says so
  ADD COLUMN IF NOT EXISTS possible_repeat  boolean     NOT NULL DEFAULT false,
  -- Slack's error string when it refused the message for good
  ADD COLUMN IF NOT EXISTS error_code       text;

-- Rows of the notifier's first version: its final messages, and its unfinished sends (retried, flagged).
UPDATE notifications SET announces_final = true WHERE kind = 'batch_final';
UPDATE notifications SET possible_repeat = true WHERE state = 'sending' AND claim_expires_at IS NULL;

CREATE INDEX IF NOT EXISTS notifications_due_idx
  ON notifications (route, occurred_at) WHERE state IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS notifications_digest_idx ON notifications (digest_key) WHERE digest_key IS NOT NULL;

-- One row per webhook (keyed by a hash of its URL, never the URL): when the next POST may start. A dispatcher
-- holds the webhook while it posts (next_send_at pushed past its timeout) and sets the next slot from the
-- database clock once Slack answered, so every replica sees the same bucket and no clock skew between them counts.
CREATE TABLE IF NOT EXISTS slack_webhook_pacing (
  webhook_key          text PRIMARY KEY,
  next_send_at         timestamptz NOT NULL DEFAULT 'epoch',
  holder               text,
  -- 5xx answers and connection errors in a row, and since when (an outage)
  consecutive_failures int         NOT NULL DEFAULT 0,
  failing_since        timestamptz,
  last_error           text,
  updated_at           timestamptz NOT NULL DEFAULT now()
);
