-- batchline schema (issue 18): indexes for the monitor's reads at a year of a large user.
--
-- The failed request results of a batch, by error code. A batch's error summary, its
-- `outcome=failed` and `errorCode=` pages of requests and their counts read this small index (failures are a few
-- percent of the results) instead of every result of the batch: 50,000 for a large one. The predicate also holds
-- any result with an error code, so that `error_code = $1` alone (which does not say the outcome) can use it.
CREATE INDEX IF NOT EXISTS batch_request_results_failed_idx
  ON batch_request_results (batch_log_id, error_code, custom_id) WHERE outcome = 'failed' OR error_code IS NOT NULL;

-- The batches not final yet, with every column the monitoring view sums of them (its live queues and the live part
-- of its figures), so that it reads them from this index alone: 10,000 in-flight batches among 1,000,000 are
-- otherwise 10,000 heap pages read one by one (180 ms at issue 18's scale, against 2 ms from the index).
CREATE INDEX IF NOT EXISTS batch_jobs_vp_logs_live_idx ON batch_jobs_vp_logs (created_at)
  INCLUDE (status, id, job_type, provider, model, provider_status, polling_paused, total_sentences,
           processed_sentences, failed_sentences)
  WHERE status = 1;
