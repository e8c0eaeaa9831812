-- batchline schema: raw answers (issue 15). For a job type declaring `keepRawAnswers`, the persister keeps each
-- result line exactly as the provider returned it (output or error file), in the transaction that lands the chunk's
-- outcomes, so that nothing the provider returned is lost when its files expire. Purged with the request outcomes
-- of finished batches (retention family request_outcomes). No foreign key, like batch_request_results.
CREATE TABLE IF NOT EXISTS batch_request_answers (
  batch_log_id bigint      NOT NULL,
  custom_id    text        NOT NULL,
  -- the whole result line (JSON text), byte for byte
  answer       text        NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_log_id, custom_id)
);
