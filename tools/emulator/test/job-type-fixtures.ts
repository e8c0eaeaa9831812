import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CatalogueEntry, type JobType, type JobTypeSet, loadJobTypes } from '@batchline/job-types';
import { embeddingsDeclaration, sentimentDeclaration } from '@batchline/testing';

/** contract §8's `review_sentiment` and an embeddings job type with string ids (tools/testing holds both). */
export const SENTIMENT_DECLARATION = sentimentDeclaration();
export const EMBEDDINGS_DECLARATION = embeddingsDeclaration();

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
