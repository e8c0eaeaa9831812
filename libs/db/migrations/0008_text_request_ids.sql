-- Job types key their requests by an integer or by a string id (docs/job-types.md): a batch's recorded ids are
-- integers in sentence_ids as before, or strings in request_ids; exactly one of the two is set.
ALTER TABLE batch_request_ids ALTER COLUMN sentence_ids DROP NOT NULL;
ALTER TABLE batch_request_ids ADD COLUMN IF NOT EXISTS request_ids text[];
