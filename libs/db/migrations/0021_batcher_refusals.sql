-- batchline schema: refusals the provider makes after accepting a batch (issue 16). OpenAI creates a batch past the
-- enqueued-token limit, then fails it at validation (`token_limit_exceeded`); the batcher settles its recorded row
-- as refused, re-queues its requests and holds the model's next batches back for a while (services/batcher).

-- The provider's error code of a refusal (null for a refusal of the upload or create call itself), and the
-- enqueued-token limit its message stated: the batcher caps the model's ceiling to it.
ALTER TABLE batcher_batches ADD COLUMN IF NOT EXISTS refusal_code text;
ALTER TABLE batcher_batches ADD COLUMN IF NOT EXISTS provider_token_limit bigint;

-- The batcher finds its row from a `batch.status.changed` event's batch log.
CREATE UNIQUE INDEX IF NOT EXISTS batcher_batches_batch_log ON batcher_batches (batch_log_id)
  WHERE batch_log_id IS NOT NULL;
-- The model's latest token-limit refusal, read at every planning.
CREATE INDEX IF NOT EXISTS batcher_batches_token_refusals ON batcher_batches (provider, model, settled_at)
  WHERE refusal_code = 'token_limit_exceeded';
