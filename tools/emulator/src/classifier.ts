import type { Viewpoint } from '@batchline/domain';
import type { CatalogueEntry } from '@batchline/job-types';

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
 * The emulator's deterministic stand-in for the model, for one catalogue: an entry applies when one of its label's
 * significant words occurs in the text. Keys come back in catalogue order, each once.
 */
export function catalogueMatcher(catalogue: readonly CatalogueEntry[]): (text: string) => string[] {
  const labelWords = catalogue.map((entry) => ({ key: entry.key, words: significantWords(entry.label) }));
  return (text) => {
    const textWords = significantWords(text);
    const keys = new Set<string>();
    for (const { key, words } of labelWords) {
      for (const word of words) {
        if (textWords.has(word)) {
          keys.add(key);
          break;
        }
      }
    }
    return [...keys];
  };
}

/** `catalogueMatcher` over viewpoints (key the id, label the name): the viewpoints a sentence names. */
export function viewpointClassifier(catalogue: readonly Viewpoint[]): (sentence: string) => number[] {
  const match = catalogueMatcher(
    catalogue.map((viewpoint) => ({ key: String(viewpoint.id), label: viewpoint.name })),
  );
  return (sentence) => match(sentence).map(Number);
}
