-- The trace of the event each notification announces (W3C `traceparent` / `tracestate`, as written by the intake
-- inside its consumer span), so that the dispatcher's later Slack post joins the batch's trace. Empty when tracing
-- was off, for digests (their post links to every entry's trace instead) and for rows written before this column.
ALTER TABLE notifications
  ADD COLUMN IF NOT EXISTS trace_headers jsonb NOT NULL DEFAULT '{}'::jsonb;
