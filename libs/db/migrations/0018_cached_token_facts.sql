-- batchline schema, version 18 (issue 17, cached-input pricing in the monitor).

-- The part of prompt_tokens read from the provider's prompt cache (batch_request_results.cached_prompt_tokens,
-- 0017_ops), summed into the monitor's facts so that its costs price those tokens at the cached-input price.
-- 0: none, or the provider did not say (outcomes landed before 0017, or purged before this migration).
ALTER TABLE monitor_batch_facts ADD COLUMN IF NOT EXISTS cached_prompt_tokens bigint NOT NULL DEFAULT 0;
ALTER TABLE monitor_hourly_facts ADD COLUMN IF NOT EXISTS cached_prompt_tokens bigint NOT NULL DEFAULT 0;

-- The three functions of 0002_monitor, unchanged but for cached_prompt_tokens.

-- Adds facts to their hourly sums.
CREATE OR REPLACE FUNCTION monitor_add_hourly_facts(facts monitor_batch_facts[]) RETURNS void AS $$
  INSERT INTO monitor_hourly_facts AS h (hour, job_type, provider, model, status, jobs, total_requests, succeeded,
    failed, prompt_tokens, completion_tokens, processing_ms, cached_prompt_tokens)
  SELECT date_trunc('hour', f.created_at, 'UTC'), f.job_type, f.provider, COALESCE(f.model, ''), f.status, count(*),
         sum(f.total_requests), sum(f.succeeded), sum(f.failed), sum(f.prompt_tokens), sum(f.completion_tokens),
         sum(extract(epoch FROM f.landed_at - f.created_at) * 1000), sum(f.cached_prompt_tokens)
  FROM unnest(facts) f
  GROUP BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, job_type, provider, model, status) DO UPDATE SET
    jobs = h.jobs + EXCLUDED.jobs,
    total_requests = h.total_requests + EXCLUDED.total_requests,
    succeeded = h.succeeded + EXCLUDED.succeeded,
    failed = h.failed + EXCLUDED.failed,
    prompt_tokens = h.prompt_tokens + EXCLUDED.prompt_tokens,
    completion_tokens = h.completion_tokens + EXCLUDED.completion_tokens,
    processing_ms = h.processing_ms + EXCLUDED.processing_ms,
    cached_prompt_tokens = h.cached_prompt_tokens + EXCLUDED.cached_prompt_tokens;
$$ LANGUAGE sql;

-- Records a batch's facts when it becomes final (in the transaction that sets the final status).
CREATE OR REPLACE FUNCTION batchline_record_final_batch() RETURNS trigger AS $$
DECLARE
  recorded monitor_batch_facts[];
BEGIN
  WITH inserted AS (
    INSERT INTO monitor_batch_facts (batch_log_id, provider, job_type, model, status, created_at, started_at,
      landed_at, total_requests, succeeded, failed, prompt_tokens, completion_tokens, cached_prompt_tokens)
    SELECT NEW.id, NEW.provider, NEW.job_type, NEW.model, NEW.status, NEW.created_at, NEW.provider_started_at,
           COALESCE(NEW.results_landed_at, now()), NEW.total_sentences, NEW.processed_sentences,
           NEW.failed_sentences, COALESCE(sum(r.prompt_tokens), 0), COALESCE(sum(r.completion_tokens), 0),
           COALESCE(sum(r.cached_prompt_tokens), 0)
    FROM batch_request_results r WHERE r.batch_log_id = NEW.id
    ON CONFLICT (batch_log_id) DO NOTHING
    RETURNING *
  )
  SELECT array_agg(inserted::monitor_batch_facts) INTO recorded FROM inserted;
  IF recorded IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM monitor_add_hourly_facts(recorded);
  INSERT INTO monitor_batch_errors (batch_log_id, error_code, requests)
  SELECT NEW.id, COALESCE(r.error_code, 'unknown'), count(*)
  FROM batch_request_results r WHERE r.batch_log_id = NEW.id AND r.outcome = 'failed'
  GROUP BY 2
  ON CONFLICT (batch_log_id, error_code) DO NOTHING;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Records the facts of every final batch that has none, in one pass (for bulk loads that insert final rows
-- directly); returns how many it recorded.
CREATE OR REPLACE FUNCTION monitor_backfill_batch_facts() RETURNS bigint AS $$
DECLARE
  recorded monitor_batch_facts[];
BEGIN
  WITH missing AS (
    SELECT b.* FROM batch_jobs_vp_logs b
    WHERE b.status IN (2, 9) AND NOT EXISTS (SELECT 1 FROM monitor_batch_facts f WHERE f.batch_log_id = b.id)
  ), usage AS (
    SELECT r.batch_log_id, sum(r.prompt_tokens) AS prompt_tokens, sum(r.completion_tokens) AS completion_tokens,
           sum(r.cached_prompt_tokens) AS cached_prompt_tokens
    FROM batch_request_results r JOIN missing m ON m.id = r.batch_log_id
    GROUP BY r.batch_log_id
  ), inserted AS (
    INSERT INTO monitor_batch_facts (batch_log_id, provider, job_type, model, status, created_at, started_at,
      landed_at, total_requests, succeeded, failed, prompt_tokens, completion_tokens, cached_prompt_tokens)
    SELECT m.id, m.provider, m.job_type, m.model, m.status, m.created_at, m.provider_started_at,
           COALESCE(m.results_landed_at, m.updated_at), m.total_sentences, m.processed_sentences,
           m.failed_sentences, COALESCE(u.prompt_tokens, 0), COALESCE(u.completion_tokens, 0),
           COALESCE(u.cached_prompt_tokens, 0)
    FROM missing m LEFT JOIN usage u ON u.batch_log_id = m.id
    ON CONFLICT (batch_log_id) DO NOTHING
    RETURNING *
  )
  SELECT array_agg(inserted::monitor_batch_facts) INTO recorded FROM inserted;
  IF recorded IS NULL THEN
    RETURN 0;
  END IF;
  PERFORM monitor_add_hourly_facts(recorded);
  INSERT INTO monitor_batch_errors (batch_log_id, error_code, requests)
  SELECT r.batch_log_id, COALESCE(r.error_code, 'unknown'), count(*)
  FROM batch_request_results r JOIN unnest(recorded) f ON f.batch_log_id = r.batch_log_id
  WHERE r.outcome = 'failed'
  GROUP BY r.batch_log_id, COALESCE(r.error_code, 'unknown')
  ON CONFLICT (batch_log_id, error_code) DO NOTHING;
  RETURN cardinality(recorded);
END
$$ LANGUAGE plpgsql;

-- Facts recorded before this migration: their cached tokens from the outcomes still kept (only rows landed
-- since 0017 carry any, so the scan reads those), added to their hourly sums in the same statement. The facts
-- table and its hourly sums are locked by the ALTERs above until this commits, so no batch is counted twice.
WITH cached AS (
  SELECT r.batch_log_id, sum(r.cached_prompt_tokens) AS tokens
  FROM batch_request_results r
  WHERE r.cached_prompt_tokens > 0
  GROUP BY r.batch_log_id
), updated AS (
  UPDATE monitor_batch_facts f SET cached_prompt_tokens = c.tokens
  FROM cached c
  WHERE f.batch_log_id = c.batch_log_id AND f.cached_prompt_tokens = 0
  RETURNING f.created_at, f.job_type, f.provider, f.model, f.status, f.cached_prompt_tokens
)
UPDATE monitor_hourly_facts h SET cached_prompt_tokens = h.cached_prompt_tokens + u.tokens
FROM (
  SELECT date_trunc('hour', created_at, 'UTC') AS hour, job_type, provider, COALESCE(model, '') AS model, status,
         sum(cached_prompt_tokens) AS tokens
  FROM updated
  GROUP BY 1, 2, 3, 4, 5
) u
WHERE h.hour = u.hour AND h.job_type = u.job_type AND h.provider = u.provider AND h.model = u.model
  AND h.status = u.status;
