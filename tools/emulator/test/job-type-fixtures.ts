import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CatalogueEntry, type JobType, type JobTypeSet, loadJobTypes } from '@batchline/job-types';

/** A chat job type with a catalogue, as contract §8 declares `review_sentiment`. */
export const SENTIMENT_DECLARATION = {
  name: 'review_sentiment',
  input: { id: 'review_id', fields: ['text'] },
  customIdPrefix: 'sent',
  request: {
    endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    maxTokens: 256,
    messages: [
      { role: 'system', content: 'Label the sentiment of the review. Labels:\n{{catalogue}}' },
      { role: 'user', content: '{{text}}' },
    ],
    responseSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['label', 'score'],
      properties: { label: { type: 'string' }, score: { type: 'number', minimum: 0, maximum: 1 } },
    },
  },
  catalogue: { table: 'sentiment_labels', key: 'name', label: 'description' },
  results: {
    table: 'review_sentiments',
    columns: {
      review_id: { from: '$id', type: 'bigint' },
      label: { from: '/label', type: 'text', references: 'catalogue', errorCode: 'unknown_label' },
      score: { from: '/score', type: 'double precision' },
    },
    key: ['review_id'],
  },
};

/** An embeddings job type with string ids, like the shipped `review_embeddings`. */
export const EMBEDDINGS_DECLARATION = {
  name: 'review_embeddings',
  input: { id: 'doc_id', fields: ['text'] },
  customIdPrefix: 'emb',
  request: { endpoint: '/v1/embeddings', model: 'text-embedding-3-small', input: '{{text}}', dimensions: 8 },
  results: {
    table: 'review_embeddings',
    columns: { doc_id: { from: '$id', type: 'text' }, embedding: { from: '$embedding', type: 'real[]' } },
    key: ['doc_id'],
  },
};

export const SENTIMENT_LABELS: CatalogueEntry[] = [
  { key: 'positive', label: 'Praise, delight' },
  { key: 'negative', label: 'Complaint, disappointment' },
  { key: 'neutral', label: 'Facts only' },
];

const PHRASES = ['I praise this phone', 'A complaint about the hinge', 'Just facts', 'It arrived'];

/** Reviews whose texts name each label in turn, and some none. */
export const reviews = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    text: `${PHRASES[i % PHRASES.length]} (review ${i + 1}).`,
  }));

/** The built-in job types plus the two declarations above, loaded from a folder the way BATCHLINE_JOB_TYPES is. */
export async function loadTestJobTypes(dir: string): Promise<JobTypeSet> {
  const folder = join(dir, 'job-types');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'sentiment.json'), JSON.stringify(SENTIMENT_DECLARATION));
  await writeFile(join(folder, 'embeddings.json'), JSON.stringify(EMBEDDINGS_DECLARATION));
  return loadJobTypes(folder);
}

/** The job type's request line for each input, as `submit` builds them. */
export function requestLines(
  jobType: JobType,
  provider: 'openai' | 'anthropic',
  inputs: ReadonlyArray<{ id: number | string; text: string }>,
  catalogue: readonly CatalogueEntry[] = [],
) {
  const field = jobType.declaration.input.fields[0] ?? 'text';
  return inputs.map((input) =>
    jobType.requestLine(
      provider,
      { id: input.id, fields: { [field]: input.text } },
      { model: jobType.declaration.request.model ?? 'gpt-4o-mini', catalogue },
    ),
  );
}

export async function writeLines(dir: string, name: string, lines: readonly object[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  return path;
}
