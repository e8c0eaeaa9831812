-- batchline schema: automatic retry rounds (issue 15). When a batch of a job is final, the monitor's retrier records
-- here, in the transaction that consumes its `batch.finalized`, whether a retry round of its failures is due (and
-- when), or why not; a sweeper on each monitor replica submits due rounds under a lease, through the manual retry's
-- code path, so a round is made once across redelivery, replicas and restarts.
CREATE TABLE IF NOT EXISTS batch_retry_rounds (
  -- the final batch whose retryable failures the round resubmits (one decision per batch). No foreign keys, like
  -- batch_retries: the batch log is never deleted, and a reference would stop TRUNCATE of the batch logs.
  parent_batch_log_id bigint      PRIMARY KEY,
  batch_job_id        bigint      NOT NULL,
  -- the round the retry batch is in its job (the parent's round + 1)
  round               int         NOT NULL CHECK (round >= 1),
  -- 'planned': due at due_at; 'submitted': retry_batch_log_id holds the round's batch; 'none': nothing went out
  state               text        NOT NULL CHECK (state IN ('planned', 'submitted', 'none')),
  -- why a decision is 'none' (rounds_spent, nothing_retryable, or the retry's refusal code at submission)
  reason              text,
  due_at              timestamptz NOT NULL,
  retry_batch_log_id  bigint,
  -- the sweeper replica holding the round while it submits it, until claimed_until
  claimed_by          text,
  claimed_until       timestamptz,
  attempts            int         NOT NULL DEFAULT 0,
  last_error          text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS batch_retry_rounds_due_idx ON batch_retry_rounds (due_at) WHERE state = 'planned';
CREATE INDEX IF NOT EXISTS batch_retry_rounds_job_idx ON batch_retry_rounds (batch_job_id);

-- The custom_ids a retry resubmitted: while its batch is pending they are in a live round, and no other round may
-- take them (a request is never in two live rounds at once).
ALTER TABLE batch_retries ADD COLUMN IF NOT EXISTS custom_ids text[];
