-- batchline schema: the failed request results of a batch, by error code (issue 18). A batch's error summary, its
-- `outcome=failed` and `errorCode=` pages of requests and their counts read this small index (failures are a few
-- percent of the results) instead of every result of the batch: 50,000 for a large one. The predicate also holds
-- any result with an error code, so that `error_code = $1` alone (which does not say the outcome) can use it.
CREATE INDEX IF NOT EXISTS batch_request_results_failed_idx
  ON batch_request_results (batch_log_id, error_code, custom_id) WHERE outcome = 'failed' OR error_code IS NOT NULL;
