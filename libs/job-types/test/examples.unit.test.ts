import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadJobTypes, readJobTypeFile } from '../index.ts';

/** The job types shipped in examples/job-types compile, and their sample inputs make requests. */
const EXAMPLES = fileURLToPath(new URL('../../../examples/job-types/', import.meta.url));
const labels = [
  { key: 'mixed', label: 'Pleased with some things and displeased with others.' },
  { key: 'negative', label: 'The reviewer is displeased.' },
  { key: 'positive', label: 'The reviewer is pleased.' },
];

const sampleLines = (file: string): Record<string, unknown>[] =>
  readFileSync(`${EXAMPLES}${file}`, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('examples/job-types', () => {
  const jobTypes = loadJobTypes(EXAMPLES);

  it('declares review_sentiment and review_embeddings, every file compiling on its own too', () => {
    expect(jobTypes.all().map((jobType) => jobType.name)).toEqual([
      'specific_viewpoint',
      'review_embeddings',
      'review_sentiment',
    ]);
    const files = readdirSync(EXAMPLES).filter((file) => /\.(json|ya?ml)$/.test(file));
    expect(files.length).toBe(2);
    for (const file of files) expect(readJobTypeFile(`${EXAMPLES}${file}`)).toHaveLength(1);
  });

  it.each([
    ['review_sentiment', 'review_sentiment.jsonl'],
    ['review_embeddings', 'review_embeddings.jsonl'],
  ])('%s: every sample line is a request with a distinct id', (name, file) => {
    const jobType = jobTypes.named(name);
    const lines = sampleLines(file);
    expect(lines.length).toBeGreaterThan(3);
    const customIds = new Set<string>();
    for (const line of lines) {
      const id = jobType.parseInputId(line[jobType.declaration.input.id]);
      expect(id, JSON.stringify(line)).not.toBeNull();
      const fields = Object.fromEntries(
        jobType.declaration.input.fields.map((field) => [field, String(line[field])]),
      );
      const request = jobType.requestLine('openai', { id: id!, fields }, { model: 'm', catalogue: labels });
      const customId = request.custom_id as string;
      expect(jobType.parseCustomId(customId)).toBe(id);
      customIds.add(customId);
    }
    expect(customIds.size).toBe(lines.length);
  });

  it('review_sentiment: the catalogue in the prompt, a label and a score per review', () => {
    const sentiment = jobTypes.named('review_sentiment');
    const line = sentiment.requestLine(
      'anthropic',
      { id: 1001, fields: { text: 'Lovely.' } },
      { model: 'claude', catalogue: labels },
    ) as { params: { system: string } };
    expect(line.params.system).toContain(
      '\nmixed: Pleased with some things and displeased with others.\nnegative:',
    );
    const isLabel = (key: string) => labels.some((entry) => entry.key === key);
    expect(sentiment.checkAnswer('{"label":"positive","score":0.75}', isLabel)).toEqual({
      ok: true,
      rows: [['positive', 0.75]],
    });
    expect(sentiment.checkAnswer('{"label":"furious","score":1}', isLabel)).toMatchObject({
      ok: false,
      code: 'unknown_label',
    });
  });

  it('review_embeddings: 8 dimensions into real[], OpenAI only', () => {
    const embeddings = jobTypes.named('review_embeddings');
    const vector = [0.1, -0.2, 0.3, 0, 0.5, -0.6, 0.7, 0.08];
    expect(
      embeddings.checkEmbedding({
        object: 'list',
        data: [{ object: 'embedding', index: 0, embedding: vector }],
      }),
    ).toEqual({
      ok: true,
      rows: [[vector]],
    });
    expect(() => embeddings.batchEndpoint('anthropic')).toThrow(/Anthropic does not offer/);
  });
});
