-- Replay (`batchline replay`): re-landing a batch's results after its rows were deleted must give back exactly
-- the rows and counts it had.
--
-- The persister lands a chunk once (its ledger row in batch_result_chunks makes a repeat a no-op) and adds the
-- outcomes it inserted to the batch counts; the final status (2/9) never changes. So, to land a batch's results
-- again, an operator deletes its outcomes, associations AND ledger rows, then replays its batch.results.parsed
-- events: every chunk lands anew, the counts grow back, and the batch stays final (no second batch.finalized, no
-- second Slack message). For the counts to come back exactly they must first go down: this trigger takes deleted
-- outcome rows off processed_sentences / failed_sentences, keeping them equal to the batch's succeeded / failed
-- rows (their definition, ARCHITECTURE.md "Result lines") whoever deletes and why.

CREATE OR REPLACE FUNCTION batchline_uncount_deleted_results() RETURNS trigger AS $$
BEGIN
  UPDATE batch_jobs_vp_logs b
  SET processed_sentences = b.processed_sentences - d.succeeded,
      failed_sentences = b.failed_sentences - d.failed
  FROM (
    SELECT batch_log_id,
           count(*) FILTER (WHERE outcome = 'succeeded')::int AS succeeded,
           count(*) FILTER (WHERE outcome = 'failed')::int AS failed
    FROM deleted_results
    GROUP BY batch_log_id
  ) d
  WHERE b.id = d.batch_log_id;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- One UPDATE per statement and batch (a transition table), not one per deleted row.
DROP TRIGGER IF EXISTS batch_request_results_uncount ON batch_request_results;
CREATE TRIGGER batch_request_results_uncount AFTER DELETE ON batch_request_results
  REFERENCING OLD TABLE AS deleted_results
  FOR EACH STATEMENT EXECUTE FUNCTION batchline_uncount_deleted_results();
