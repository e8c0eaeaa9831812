-- The requests of a batch that `batchline submit` created, as their review_sentence_ids (custom_id `rs-<id>`):
-- the fetcher tells from them which result lines belong to the batch and which requests have none, without
-- downloading the input file again (53 MB for 50,000 requests). Adopted batches (`batchline track`) have no row;
-- their input file is read instead.
CREATE TABLE IF NOT EXISTS batch_request_ids (
  batch_log_id bigint   PRIMARY KEY,
  sentence_ids bigint[] NOT NULL
);
