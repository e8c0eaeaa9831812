import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { CHAT_COMPLETIONS_URL, LineSplitter } from '@batchline/domain';
import type { BatchProvider } from '@batchline/providers';

/**
 * Writes the lines of the provider's input file whose custom_id is in `wanted` to `path`, each once, as they
 * were. Returns the custom_ids it wrote and the endpoint they target.
 */
export async function writeRequestLines(
  provider: BatchProvider,
  inputFileId: string,
  wanted: ReadonlySet<string>,
  path: string,
): Promise<{ written: ReadonlySet<string>; endpoint: string }> {
  const out = createWriteStream(path);
  const seen = new Set<string>();
  let endpoint = CHAT_COMPLETIONS_URL;
  const pending: string[] = [];
  const splitter = new LineSplitter();
  const onLine = ({ text }: { text: string | null }) => {
    if (text === null || text.trim() === '') return;
    let line: { custom_id?: unknown; url?: unknown };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      return;
    }
    if (typeof line.custom_id !== 'string' || !wanted.has(line.custom_id) || seen.has(line.custom_id)) return;
    seen.add(line.custom_id);
    if (typeof line.url === 'string' && line.url.startsWith('/v1/')) endpoint = line.url;
    pending.push(`${text}\n`);
  };
  try {
    for await (const chunk of await provider.openFile(inputFileId)) {
      splitter.push(chunk as Buffer, onLine);
      for (const line of pending.splice(0)) if (!out.write(line)) await once(out, 'drain');
    }
    splitter.end(onLine);
    for (const line of pending.splice(0)) if (!out.write(line)) await once(out, 'drain');
  } finally {
    out.end();
    await once(out, 'close');
  }
  return { written: seen, endpoint };
}
