-- batchline schema, version 12: a submission is a batch job; its parts and its retry rounds are batches (issue 15).

-- One row per submission (`submit`, `track`, later the batcher). Its batches point at it; a job is final when its
-- last batch is final and no retry round is left to make (`finalized_at` set once, with the `job.finalized` event in
-- the same transaction).
CREATE TABLE IF NOT EXISTS batch_jobs (
  id            bigserial   PRIMARY KEY,
  job_type      text        NOT NULL,
  provider      text        NOT NULL CHECK (provider IN ('openai', 'anthropic')),
  model         text,
  -- how the job came to be: 'submit', 'track', 'batcher'
  origin        text        NOT NULL,
  -- the requests the job was submitted with (the sum of its parts' totals, not counting retry rounds)
  total_requests int        NOT NULL CHECK (total_requests >= 0),
  -- the retry policy in force when the job was created (rounds, codes, delay), so a later change of the job type's
  -- declaration does not change a running job
  retry_policy  jsonb       NOT NULL DEFAULT '{}'::jsonb,
  -- null while running; 'succeeded' (every request succeeded), 'partially_succeeded', 'failed' (none succeeded)
  outcome       text        CHECK (outcome IN ('succeeded', 'partially_succeeded', 'failed')),
  finalized_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((outcome IS NULL) = (finalized_at IS NULL))
);
CREATE INDEX IF NOT EXISTS batch_jobs_created_idx ON batch_jobs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS batch_jobs_running_idx ON batch_jobs (id) WHERE finalized_at IS NULL;

-- A batch's job, which part of the submission it is (0-based, null for a retry round), and for a retry round the
-- batch whose failures it resubmits and its round number (0 for a part, 1 for the first retry, ...). Batches recorded
-- before this version have no job.
ALTER TABLE batch_jobs_vp_logs
  ADD COLUMN IF NOT EXISTS batch_job_id        bigint REFERENCES batch_jobs (id),
  ADD COLUMN IF NOT EXISTS part_index          int CHECK (part_index >= 0),
  ADD COLUMN IF NOT EXISTS parent_batch_log_id bigint REFERENCES batch_jobs_vp_logs (id),
  ADD COLUMN IF NOT EXISTS retry_round         int NOT NULL DEFAULT 0 CHECK (retry_round >= 0);
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_job_idx ON batch_jobs_vp_logs (batch_job_id) WHERE batch_job_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_parent_idx
  ON batch_jobs_vp_logs (parent_batch_log_id) WHERE parent_batch_log_id IS NOT NULL;
