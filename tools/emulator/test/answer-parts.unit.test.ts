import { describe, expect, it } from 'vitest';
import { embeddingOf, parseAnswerShares } from '../index.ts';
import { answerIntent, checkAnswerShares, sharesFor } from '../src/answer-shares.ts';
import { createEmbeddings } from '../src/embeddings.ts';
import { catalogueAt, catalogueInSystemLines } from '../src/prompt-catalogue.ts';

describe('answer shares', () => {
  it('parses overall and per-job-type shares as the emulator command takes them', () => {
    expect(
      parseAnswerShares({ invalid: '0.05,review_sentiment=0.2', unknownReference: 'review_sentiment=.1' }),
    ).toEqual({
      invalid: 0.05,
      byJobType: { review_sentiment: { invalid: 0.2, unknownReference: 0.1 } },
    });
    expect(() => parseAnswerShares({ invalid: 'lots' })).toThrow(/"lots" is not a share/);
    expect(() => parseAnswerShares({ invalid: '1.5' })).toThrow(/from 0 to 1/);
    expect(() => parseAnswerShares({ invalid: 'a=0.7', unknownReference: 'a=0.4' })).toThrow(
      /of a add up to more than 1/,
    );
  });

  it('prefers a job type’s own share to the overall one', () => {
    const option = { invalid: 0.1, unknownReference: 0.05, byJobType: { embed: { invalid: 0.5 } } };
    expect(sharesFor(option, 'embed')).toEqual({ invalid: 0.5, unknownReference: 0.05 });
    expect(sharesFor(option, 'other')).toEqual({ invalid: 0.1, unknownReference: 0.05 });
    expect(sharesFor(undefined, 'other')).toEqual({ invalid: 0, unknownReference: 0 });
    expect(() => checkAnswerShares({ unknownReference: -0.1 })).toThrow(RangeError);
    expect(() =>
      checkAnswerShares({ byJobType: { typo: { invalid: 0.1 } } }, ['specific_viewpoint']),
    ).toThrow('answer shares name typo, which is not a declared job type (specific_viewpoint)');
  });

  it('spoils about the configured share, the same custom ids every time', () => {
    const shares = { invalid: 0.2, unknownReference: 0.1 };
    const intents = Array.from({ length: 10_000 }, (_, i) => answerIntent('t', `t-${i}`, shares));
    const share = (intent: string) => intents.filter((x) => x === intent).length / intents.length;
    expect(share('invalid')).toBeCloseTo(0.2, 1);
    expect(share('unknown_reference')).toBeCloseTo(0.1, 1);
    expect(Array.from({ length: 10_000 }, (_, i) => answerIntent('t', `t-${i}`, shares))).toEqual(intents);
    expect(answerIntent('t', 't-1', { invalid: 0, unknownReference: 0 })).toBe('valid');
    // Few and consecutive custom ids (a small batch) get their share too.
    const small = Array.from({ length: 80 }, (_, i) => answerIntent('t', `t-${i + 1}`, shares));
    expect(small.filter((x) => x === 'invalid').length).toBeGreaterThanOrEqual(8);
    expect(small.filter((x) => x === 'unknown_reference').length).toBeGreaterThanOrEqual(3);
  });
});

describe('embeddings', () => {
  it('are unit vectors of the requested length, deterministic from the text', () => {
    const vector = embeddingOf('great battery', 8);
    expect(vector).toHaveLength(8);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 4);
    expect(embeddingOf('great battery', 8)).toEqual(vector);
    expect(embeddingOf('poor battery', 8)).not.toEqual(vector);
  });

  it('have six significant digits, which a float4 (real[]) keeps exactly', () => {
    for (const x of embeddingOf('round trip', 256)) {
      expect(Number(x.toPrecision(6))).toBe(x);
      expect(Number(Math.fround(x).toPrecision(6))).toBe(x);
    }
  });

  it('answer POST /v1/embeddings in OpenAI’s shape, floats or base64, and refuse bad bodies', () => {
    const body = createEmbeddings({ model: 'text-embedding-3-small', input: ['a', 'bb'] });
    expect(body).toMatchObject({ object: 'list', model: 'text-embedding-3-small' });
    expect(body.data.map((d) => [d.object, d.index, (d.embedding as number[]).length])).toEqual([
      ['embedding', 0, 1536],
      ['embedding', 1, 1536],
    ]);
    expect(body.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 });
    const packed = createEmbeddings({ model: 'm', input: 'a', dimensions: 4, encoding_format: 'base64' });
    const bytes = Buffer.from(packed.data[0]!.embedding as string, 'base64');
    const floats = [...new Float32Array(bytes.buffer, bytes.byteOffset, 4)];
    expect(floats).toEqual(embeddingOf('a', 4).map(Math.fround));
    expect(() => createEmbeddings({ model: 'm', input: [] })).toThrow(/input/);
    expect(() => createEmbeddings({ model: 'm', input: 'a', dimensions: 0 })).toThrow(/dimensions/);
    expect(() => createEmbeddings({ input: 'a' })).toThrow(/model/);
  });
});

describe('the catalogue in a prompt', () => {
  const site = { before: 'Labels:\n', after: '\nAnswer in JSON.' };

  it('is read back where the template rendered it, one <key>: <label> a line', () => {
    const text =
      'Label the review.\nLabels:\npositive: Pleased: very\nnegative: Complains\nodd:\n\nAnswer in JSON.';
    expect(catalogueAt(text, site)).toEqual([
      { key: 'positive', label: 'Pleased: very' },
      { key: 'negative', label: 'Complains' },
      { key: 'odd', label: '' },
    ]);
    // An empty catalogue on its own line is rendered without that line.
    expect(catalogueAt('Labels:\nAnswer in JSON.', site)).toEqual([]);
    expect(catalogueAt('Labels:', { before: 'Labels:\n', after: '' })).toEqual([]);
    expect(catalogueAt('no catalogue here', site)).toBeNull();
    expect(catalogueAt('Labels:\na: b', { before: 'Labels:\n', after: '' })).toEqual([
      { key: 'a', label: 'b' },
    ]);
  });

  it('of a hand-written prompt is every <key>: <label> line of its system messages', () => {
    expect(
      catalogueInSystemLines([
        { role: 'system', text: 'Viewpoints (id: name):\n1: Battery life\n2: Screen' },
        { role: 'user', text: '3: not a catalogue line' },
      ]),
    ).toEqual([
      { key: '1', label: 'Battery life' },
      { key: '2', label: 'Screen' },
    ]);
  });
});
