-- The pollers lease due batches `ORDER BY poll_priority DESC, next_poll_at LIMIT n`. With only the next_poll_at
-- index, Postgres read and sorted every due batch for each lease (116 ms at 100,000 batches in flight, so two
-- pollers checked 376 batches a second where 1,667 fell due); in this order it reads the first n and stops.
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_lease_order_idx
  ON batch_jobs_vp_logs (poll_priority DESC, next_poll_at) WHERE status = 1 AND provider_terminal_at IS NULL;
