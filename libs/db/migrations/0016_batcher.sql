-- The batcher (services/batcher) owns these tables: requests waiting to be batched, the batches it plans and makes,
-- and its per-job-type controls. Nothing else writes them.

-- A batch the batcher planned: written (state 'planned', with a lease) before anything is uploaded, so that a
-- batcher that dies between upload, creation and recording leaves a row to reconcile with the provider's batch
-- list (by `idempotency_key`, also the batch's `batchline_key` metadata).
CREATE TABLE IF NOT EXISTS batcher_batches (
  id                  bigserial PRIMARY KEY,
  job_type            text NOT NULL,
  provider            text NOT NULL,
  model               text NOT NULL,
  idempotency_key     text NOT NULL UNIQUE,
  state               text NOT NULL CHECK (state IN ('planned', 'recorded', 'refused')),
  trigger             text NOT NULL CHECK (trigger IN ('size', 'interval', 'on_demand', 'overdue')),
  request_count       integer NOT NULL CHECK (request_count > 0),
  request_bytes       bigint NOT NULL,
  estimated_tokens    bigint NOT NULL,
  -- Batch price (discount applied) of the estimated prompt tokens and the declared completion budget; null when
  -- the model has no price.
  estimated_cost_usd  numeric(14, 6),
  lease_owner         text,
  lease_until         timestamptz,
  provider_batch_id   text,
  batch_job_id        bigint REFERENCES batch_jobs (id),
  batch_log_id        bigint,
  refusal             text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  settled_at          timestamptz
);
CREATE INDEX IF NOT EXISTS batcher_batches_planned ON batcher_batches (lease_until) WHERE state = 'planned';
CREATE INDEX IF NOT EXISTS batcher_batches_spent ON batcher_batches (job_type, created_at) WHERE state <> 'refused';

-- A request waiting for a batch (planned_batch_id null) or in one. A request id enqueued twice for one job type
-- is one request: the second insert does nothing.
CREATE TABLE IF NOT EXISTS batcher_requests (
  id                bigserial PRIMARY KEY,
  job_type          text NOT NULL,
  request_id        text NOT NULL,
  provider          text NOT NULL,
  model             text NOT NULL,
  -- The provider request line, built at intake (its size and tokens are known before any batch is planned).
  line              text NOT NULL,
  line_bytes        integer NOT NULL,
  estimated_tokens  integer NOT NULL,
  enqueued_at       timestamptz NOT NULL DEFAULT now(),
  planned_batch_id  bigint REFERENCES batcher_batches (id),
  UNIQUE (job_type, request_id)
);
CREATE INDEX IF NOT EXISTS batcher_requests_pending ON batcher_requests (job_type, provider, model, id)
  WHERE planned_batch_id IS NULL;
CREATE INDEX IF NOT EXISTS batcher_requests_planned ON batcher_requests (planned_batch_id) WHERE planned_batch_id IS NOT NULL;

-- Per job type: paused (no batch is made, the queue is kept) and the last "batch now" asked for (every request
-- enqueued before it goes out at the next tick, whatever BATCH_MIN_SIZE says).
CREATE TABLE IF NOT EXISTS batcher_controls (
  job_type            text PRIMARY KEY,
  paused              boolean NOT NULL DEFAULT false,
  flush_requested_at  timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now()
);
