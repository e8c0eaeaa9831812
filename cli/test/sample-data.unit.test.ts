import { describe, expect, it } from 'vitest';
import { sampleReviewSentences, sampleViewpoints } from '../src/demo/sample-data.ts';

/** The demo classifier's rule: a viewpoint is mentioned when a word of four or more letters of its name occurs. */
function mentionedViewpointIds(text: string): number[] {
  const words = new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);
  return sampleViewpoints()
    .filter(({ name }) =>
      name
        .toLowerCase()
        .split(/[^a-z]+/)
        .some((word) => word.length >= 4 && words.has(word)),
    )
    .map(({ id }) => id);
}

describe('sampleViewpoints', () => {
  it('has at least 24 distinct viewpoints with ids from 101', () => {
    const viewpoints = sampleViewpoints();
    expect(viewpoints.length).toBeGreaterThanOrEqual(24);
    expect(viewpoints[0]?.id).toBe(101);
    expect(viewpoints.map(({ id }) => id)).toEqual(viewpoints.map((_, index) => 101 + index));
    expect(new Set(viewpoints.map(({ name }) => name)).size).toBe(viewpoints.length);
  });

  it('never shares a name word of four or more letters between two viewpoints', () => {
    const owners = new Map<string, string>();
    for (const { name } of sampleViewpoints()) {
      for (const word of name.split(/[^a-z]+/).filter((w) => w.length >= 4)) {
        expect(owners.get(word), `"${word}" is in "${owners.get(word)}" and "${name}"`).toBeUndefined();
        owners.set(word, name);
      }
    }
  });
});

describe('sampleReviewSentences', () => {
  it('returns the requested number of sentences with unique ids from 1,000,001', () => {
    const sentences = sampleReviewSentences();
    expect(sentences).toHaveLength(2000);
    expect(sentences[0]?.review_sentence_id).toBe(1_000_001);
    expect(sentences.at(-1)?.review_sentence_id).toBe(1_002_000);
    expect(new Set(sentences.map((s) => s.review_sentence_id)).size).toBe(2000);
    expect(sampleReviewSentences(7)).toHaveLength(7);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    expect(sampleReviewSentences(300, 7)).toEqual(sampleReviewSentences(300, 7));
    const other = sampleReviewSentences(300, 8).map((s) => s.text);
    const same = sampleReviewSentences(300, 7).filter((s, index) => s.text === other[index]);
    expect(same.length).toBeLessThan(30);
  });

  it('produces varied sentences', () => {
    const texts = sampleReviewSentences().map((s) => s.text);
    expect(new Set(texts).size).toBeGreaterThanOrEqual(1990);
    for (const text of texts) expect(text).toMatch(/^[A-Z].*\.$/);
  });

  it('mentions one to three viewpoints in at least 80 % of sentences, and none in some', () => {
    const mentionCounts = sampleReviewSentences().map((s) => mentionedViewpointIds(s.text).length);
    const mentioning = mentionCounts.filter((n) => n > 0).length;
    expect(mentioning / mentionCounts.length).toBeGreaterThanOrEqual(0.8);
    expect(mentionCounts.filter((n) => n === 0).length).toBeGreaterThan(0);
    expect(Math.max(...mentionCounts)).toBe(3);
    expect(mentionCounts.filter((n) => n === 2).length).toBeGreaterThan(0);
  });

  it('handles the demo maximum of 50,000 sentences', () => {
    const sentences = sampleReviewSentences(50_000, 1);
    expect(sentences).toHaveLength(50_000);
    expect(new Set(sentences.map((s) => s.review_sentence_id)).size).toBe(50_000);
  });
});
