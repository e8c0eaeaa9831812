import type { Viewpoint } from '@batchline/domain';

const MIN_WORD_LENGTH = 4;
const SUFFIXES = ['ing', 'es', 'ed', 's'];

/** Strips one common English suffix when at least `MIN_WORD_LENGTH` letters remain ("screens" → "screen"). */
function stem(word: string): string {
  for (const suffix of SUFFIXES) {
    if (word.endsWith(suffix) && word.length - suffix.length >= MIN_WORD_LENGTH) {
      return word.slice(0, -suffix.length);
    }
  }
  return word;
}

/** The lowercased, stemmed words of at least four letters of a text. */
export function significantWords(text: string): Set<string> {
  const words = new Set<string>();
  for (const match of text.toLowerCase().matchAll(/\p{L}+/gu)) {
    if (match[0].length >= MIN_WORD_LENGTH) words.add(stem(match[0]));
  }
  return words;
}

/**
 * The emulator's deterministic stand-in for the model, for one catalogue: a viewpoint applies when one of its
 * name's significant words occurs in the sentence. Ids come back in catalogue order, each once.
 */
export function viewpointClassifier(catalogue: readonly Viewpoint[]): (sentence: string) => number[] {
  const nameWords = catalogue.map((viewpoint) => ({
    id: viewpoint.id,
    words: significantWords(viewpoint.name),
  }));
  return (sentence) => {
    const sentenceWords = significantWords(sentence);
    const ids = new Set<number>();
    for (const { id, words } of nameWords) {
      for (const word of words) {
        if (sentenceWords.has(word)) {
          ids.add(id);
          break;
        }
      }
    }
    return [...ids];
  };
}
