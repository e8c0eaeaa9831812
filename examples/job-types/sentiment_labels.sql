-- The catalogue of review_sentiment.yaml: the labels a review's sentiment may take (key `name`, label
-- `description`). Load it once into batchline's database:
--   psql "$DATABASE_URL" -f examples/job-types/sentiment_labels.sql
CREATE TABLE IF NOT EXISTS sentiment_labels (
  name        text PRIMARY KEY,
  description text NOT NULL
);

INSERT INTO sentiment_labels (name, description) VALUES
  ('positive', 'The reviewer is pleased: praise, satisfaction, a recommendation.'),
  ('negative', 'The reviewer is displeased: complaints, disappointment, a warning to others.'),
  ('neutral',  'Neither pleased nor displeased: facts, questions, a plain description.'),
  ('mixed',    'Pleased with some things and displeased with others in the same review.')
ON CONFLICT (name) DO NOTHING;
