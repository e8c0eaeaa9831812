import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Viewpoint } from '@batchline/domain';
import { builtInJobTypes } from '@batchline/job-types';

export const CATALOGUE: Viewpoint[] = [
  { id: 11, name: 'Battery life' },
  { id: 12, name: 'Screen quality' },
  { id: 13, name: 'Price' },
  { id: 14, name: 'Delivery speed' },
];

/** Sentences with the ids the classifier must find in `CATALOGUE`. */
export const SENTENCES: Array<{ id: number; text: string; expected: number[] }> = [
  { id: 1, text: 'The battery drains before lunch.', expected: [11] },
  { id: 2, text: 'Bright screen, fair price.', expected: [12, 13] },
  { id: 3, text: 'It works.', expected: [] },
  { id: 4, text: 'Delivery took three weeks and the screens were scratched.', expected: [12, 14] },
  { id: 5, text: 'Great value for the price, battery lasts.', expected: [11, 13] },
  { id: 6, text: 'Nothing to report.', expected: [] },
];

/** A manual time source: tests step through the phases instead of waiting for them. */
export function manualClock(start = Date.UTC(2025, 0, 1)) {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      current += ms;
    },
  };
}

/** Writes a batch input file of `specific_viewpoint` requests, one per sentence. */
export async function writeInputFile(
  dir: string,
  sentences: ReadonlyArray<{ id: number; text: string }> = SENTENCES,
  name = 'input.jsonl',
): Promise<string> {
  const viewpoints = builtInJobTypes().default;
  const context = {
    model: 'gpt-4o-mini',
    catalogue: CATALOGUE.map(({ id, name }) => ({ key: String(id), label: name })),
  };
  const lines = sentences.map((s) =>
    JSON.stringify(viewpoints.requestLine('openai', { id: s.id, fields: { text: s.text } }, context)),
  );
  const path = join(dir, name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}
