-- batchline schema: what `batchline submit` sent (issue 15). Each request's input record (its id and input fields)
-- is kept with its job, written by the CLI in the transaction that records the job, so that a retry round rebuilds
-- the request lines from it instead of the provider's input file, which the provider deletes or expires (30 days).
-- No foreign key, like batch_retry_rounds: a reference would stop TRUNCATE of the jobs.
CREATE TABLE IF NOT EXISTS batch_job_inputs (
  batch_job_id bigint NOT NULL,
  request_id   text   NOT NULL,
  -- the values of the job type's `input.fields`, as text
  fields       jsonb  NOT NULL,
  PRIMARY KEY (batch_job_id, request_id)
);
