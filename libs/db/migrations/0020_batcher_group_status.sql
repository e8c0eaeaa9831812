-- The batcher's view of its queue (issue 16): one row per group (job type, provider, model) with pending requests,
-- rewritten by the batcher at the end of each tick (a group with nothing pending is deleted). The monitor reads it
-- for the dashboard's queue card: it cannot work out "next batch due" itself, having none of the batcher's
-- settings (intervals, minimum sizes, budgets).
CREATE TABLE IF NOT EXISTS batcher_group_status (
  job_type            text NOT NULL,
  provider            text NOT NULL,
  model               text NOT NULL,
  pending             integer NOT NULL CHECK (pending > 0),
  oldest_enqueued_at  timestamptz NOT NULL,
  -- Null while no batch can be made (paused, batching disabled, job type not declared).
  next_batch_due_at   timestamptz,
  paused              boolean NOT NULL,
  -- Why the group is waiting; null when its batch is being made (due, or planned by another replica).
  waiting_for         text CHECK (waiting_for IN
                        ('not_due', 'token_limit', 'budget', 'paused', 'disabled', 'undeclared_job_type')),
  -- The job type's daily budget (US dollars, UTC day) and what its batches are estimated to cost today; null
  -- when it has no budget.
  daily_budget_usd    numeric(14, 6),
  spent_today_usd     numeric(14, 6),
  updated_at          timestamptz NOT NULL,
  -- The batcher writes again before then while it runs: a row older than that is stale.
  stale_after         timestamptz NOT NULL,
  PRIMARY KEY (job_type, provider, model)
);
