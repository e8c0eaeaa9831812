import { writeFile } from 'node:fs/promises';
import type { Viewpoint } from '@batchline/domain';
import { type BatchRequestLine, type LineFault, viewpointClassifier } from '@batchline/emulator';
import type { CatalogueEntry, JobType } from '@batchline/job-types';
import { benchRequestId } from './job-types.ts';

/**
 * The benchmark's batch: review sentences that each name two to four viewpoints of a catalogue by one word, so the
 * emulator's classifier answers about 2.9 viewpoints a request, as in the 40 MB file (146,000 associations
 * for 50,000 requests).
 */

/** One word each, four letters or more, no shared stem: a sentence naming a word gets exactly that viewpoint. */
const VIEWPOINT_WORDS = [
  'battery',
  'screen',
  'keyboard',
  'speaker',
  'camera',
  'charger',
  'packaging',
  'delivery',
  'warranty',
  'manual',
  'hinge',
  'trackpad',
  'webcam',
  'microphone',
  'antenna',
  'bluetooth',
  'firmware',
  'cooling',
  'strap',
  'buttons',
  'display',
  'cable',
  'remote',
  'price',
  'weight',
  'finish',
  'lens',
  'sensor',
  'storage',
  'memory',
  'handle',
  'pedal',
  'zipper',
  'fabric',
  'sole',
  'heel',
  'collar',
  'pocket',
  'mattress',
  'pillow',
];
const FIRST_VIEWPOINT_ID = 501;
const FIRST_SENTENCE_ID = 10_000_001;

export const benchViewpoints = (): Viewpoint[] =>
  VIEWPOINT_WORDS.map((name, index) => ({ id: FIRST_VIEWPOINT_ID + index, name }));

/** Deterministic numbers in [0, 1) (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BenchSentence {
  reviewSentenceId: number;
  text: string;
}

/** `count` sentences naming 2 (30 %), 3 (48 %) or 4 (22 %) viewpoints; filler words are under four letters. */
export function benchSentences(count: number, seed = 4): BenchSentence[] {
  const random = seededRandom(seed);
  const names = benchViewpoints().map((viewpoint) => viewpoint.name);
  return Array.from({ length: count }, (_, index) => {
    const roll = random();
    const mentions = roll < 0.3 ? 2 : roll < 0.78 ? 3 : 4;
    const picked = new Set<string>();
    while (picked.size < mentions) picked.add(names[Math.floor(random() * names.length)]!);
    const [last, ...rest] = [...picked];
    return {
      reviewSentenceId: FIRST_SENTENCE_ID + index,
      text: `The ${rest.join(', the ')} and the ${last} are ok for me, but not all of it is new.`,
    };
  });
}

/**
 * Writes the batch input file: one request of `jobType` a sentence (the sentence's id and text as the input's id
 * and `text` field), its prompt carrying `catalogue`.
 */
export async function writeRequestFile(
  path: string,
  jobType: JobType,
  catalogue: readonly CatalogueEntry[],
  sentences: readonly BenchSentence[],
): Promise<void> {
  const context = { model: jobType.declaration.request.model ?? 'gpt-4o-mini', catalogue };
  const lines = sentences.map((sentence) =>
    JSON.stringify(
      jobType.requestLine(
        'openai',
        { id: benchRequestId(jobType, sentence.reviewSentenceId), fields: { text: sentence.text } },
        context,
      ),
    ),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
}

/**
 * For the long-line variant: each answer is the classifier's own, followed by `padBytes` of whitespace, which
 * JSON allows after a value — a valid answer of the same meaning on a line `padBytes` longer.
 */
export function paddedAnswers(
  padBytes: number,
): (customId: string, request: BatchRequestLine) => LineFault | undefined {
  const classify = viewpointClassifier(benchViewpoints());
  const padding = ' '.repeat(padBytes);
  return (_customId, request) => {
    const messages = request.body.messages as { role: string; content: string }[];
    const sentence = messages.find((message) => message.role === 'user')?.content ?? '';
    return { kind: 'content', content: `${JSON.stringify({ viewpoint_ids: classify(sentence) })}${padding}` };
  };
}
