import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Job types as a user declares them, without code (contract §8): a chat job type with a catalogue and integer ids
 * (YAML), and one with string ids, `each` and no catalogue (JSON). Written into a folder BATCHLINE_JOB_TYPES names.
 */
export const REVIEW_SENTIMENT_YAML = `name: review_sentiment
input: { id: review_id, fields: [text] }
customIdPrefix: sent
request:
  endpoint: /v1/chat/completions
  model: gpt-4o-mini
  messages:
    - role: system
      content: "Label the sentiment of the review. Labels:\\n{{catalogue}}"
    - role: user
      content: "{{text}}"
  responseSchema:
    type: object
    additionalProperties: false
    required: [label, score]
    properties:
      label: { type: string }
      score: { type: number, minimum: 0, maximum: 1 }
catalogue: { table: sentiment_labels, key: name, label: description }
results:
  table: review_sentiments
  columns:
    review_id: { from: $id, type: bigint }
    label: { from: /label, type: text, references: catalogue, errorCode: unknown_label }
    score: { from: /score, type: double precision }
  key: [review_id]
`;

export const DOC_TOPICS = {
  name: 'doc_topics',
  input: { id: 'doc_id', fields: ['title', 'body'] },
  customIdPrefix: 'doc',
  request: {
    endpoint: '/v1/chat/completions',
    messages: [{ role: 'user', content: 'Topics of "{{title}}": {{body}}' }],
    responseSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['topics'],
      properties: { topics: { type: 'array', items: { type: 'string' } } },
    },
  },
  results: {
    table: 'doc_topics',
    each: '/topics',
    columns: { doc_id: { from: '$id', type: 'text' }, topic: { from: '$item', type: 'text' } },
    key: ['doc_id', 'topic'],
  },
};

export const DOC_VECTORS_YAML = `name: doc_vectors
input: { id: doc_id, fields: [body] }
customIdPrefix: vec
request:
  endpoint: /v1/embeddings
  model: text-embedding-3-small
  input: "{{body}}"
  dimensions: 8
results:
  table: doc_vectors
  columns:
    doc_id: { from: $id, type: text }
    embedding: { from: $embedding, type: "real[]" }
  key: [doc_id]
`;

/** A folder declaring review_sentiment, doc_topics and doc_vectors; returns its path. */
export async function writeDeclarations(folder: string): Promise<string> {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'review_sentiment.yaml'), REVIEW_SENTIMENT_YAML);
  await writeFile(join(folder, 'doc_topics.json'), JSON.stringify(DOC_TOPICS, null, 2));
  await writeFile(join(folder, 'doc_vectors.yml'), DOC_VECTORS_YAML);
  return folder;
}
