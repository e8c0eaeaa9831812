-- batchline schema: outbound webhooks (docs/events.md). The notifier records one delivery per public event and
-- endpoint, keyed by both, before it acknowledges the event; its deliverers then POST the due ones, each claimed
-- under a lease, and retry failures on the schedule kept here (not in held NATS messages), so an event is
-- delivered once per endpoint across redelivery, replay, restarts and replicas.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id              bigserial   PRIMARY KEY,
  -- the event's stable id, sent as `webhook-id`: `batch.finalized:<batchLogId>` or `job.finalized:<batchJobId>`
  event_id        text        NOT NULL,
  subject         text        NOT NULL CHECK (subject IN ('batch.finalized', 'job.finalized')),
  -- which endpoint: the environment variable holding its URL (never the URL), and a hash of the URL in force
  -- when the delivery was recorded (a changed URL shows here)
  endpoint        text        NOT NULL,
  url_hash        text        NOT NULL,
  job_type        text,
  -- the JSON body POSTed, exactly (the signature covers these bytes)
  body            text        NOT NULL,
  -- `pending`: due at next_attempt_at; `delivered`: a 2xx came back; `failed`: its last attempt failed
  state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        int         NOT NULL DEFAULT 0,
  -- the last attempt's HTTP status (null: no answer) and error (no URL, no secret)
  last_status     int,
  last_error      text,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- the deliverer POSTing it now, until lease_until (past its timeout): one attempt at a time per delivery
  leased_by       text,
  lease_until     timestamptz,
  delivered_at    timestamptz,
  failed_at       timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint)
);

CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx
  ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_state_idx ON webhook_deliveries (state, created_at);
