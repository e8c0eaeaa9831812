import { describe, expect, it } from 'vitest';
import { viewpointClassifier } from '../index.ts';
import { significantWords } from '../src/classifier.ts';
import { CATALOGUE, SENTENCES } from './fixtures.ts';

describe('viewpointClassifier', () => {
  const classify = viewpointClassifier(CATALOGUE);

  it('answers the viewpoints whose name words occur in the sentence', () => {
    for (const sentence of SENTENCES)
      expect(classify(sentence.text), sentence.text).toEqual(sentence.expected);
  });

  it('ignores short words and case, and strips simple suffixes', () => {
    expect([...significantWords('The Screens are LIFE-long, ok?')]).toEqual(['screen', 'life', 'long']);
    expect(classify('the life of it')).toEqual([11]);
    expect(classify('')).toEqual([]);
  });

  it('answers each id once, in catalogue order', () => {
    const classifyDuplicates = viewpointClassifier([
      { id: 2, name: 'Screen' },
      { id: 1, name: 'Screen size' },
      { id: 2, name: 'Screen glare' },
    ]);
    expect(classifyDuplicates('screen glare and size')).toEqual([2, 1]);
  });
});
