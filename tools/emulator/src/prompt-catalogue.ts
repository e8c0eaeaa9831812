import type { CatalogueEntry, JobType } from '@batchline/job-types';

const CATALOGUE_PLACEHOLDER = /\{\{\s*catalogue\s*\}\}/;
const PLACEHOLDER = /\{\{[^{}]*\}\}/g;

/** A chat message of a request, as the emulator reads it (system prompts of Anthropic requests included). */
export interface PromptMessage {
  role: string;
  text: string;
}

/**
 * Where a job type's templates render `{{catalogue}}`: the literal text just before and just after it in its
 * message template (up to the neighbouring placeholders), which locates the rendered block in a request.
 */
export interface CatalogueSite {
  before: string;
  after: string;
}

/** The site of `{{catalogue}}` in a chat job type's message templates; null when none renders it. */
export function catalogueSiteOf(jobType: JobType): CatalogueSite | null {
  const { request } = jobType.declaration;
  if (request.endpoint !== '/v1/chat/completions') return null;
  for (const message of request.messages) {
    const found = CATALOGUE_PLACEHOLDER.exec(message.content);
    if (!found) continue;
    const head = message.content.slice(0, found.index);
    const tail = message.content.slice(found.index + found[0].length);
    const before = head.split(PLACEHOLDER).at(-1) ?? '';
    const after = tail.split(PLACEHOLDER)[0] ?? '';
    return { before, after };
  }
  return null;
}

/**
 * The catalogue rendered at `site` in one message's text (one `<key>: <label>` a line); null when the text does
 * not hold the site.
 */
export function catalogueAt(text: string, site: CatalogueSite): CatalogueEntry[] | null {
  const block = blockAt(text, site);
  return block === null ? null : parseEntries(block.split('\n'));
}

/**
 * The catalogue of a prompt not built from a declaration (a hand-written request): every `<key>: <label>` line of
 * its system messages, keys without spaces, as the viewpoint prompt always had it.
 */
export function catalogueInSystemLines(messages: readonly PromptMessage[]): CatalogueEntry[] {
  const lines = messages
    .filter((message) => message.role === 'system' || message.role === 'developer')
    .flatMap((message) => message.text.split('\n'));
  return parseEntries(lines.filter((line) => /^\S+: \S/.test(line)));
}

/** The text between `site.before` and `site.after` in `text`, or null when `text` does not hold the site. */
function blockAt(text: string, site: CatalogueSite): string | null {
  const { before, after } = site;
  const start = before === '' ? 0 : text.indexOf(before);
  if (start !== -1) {
    const from = start + before.length;
    if (after === '') return text.slice(from);
    const end = text.indexOf(after, from);
    if (end !== -1) return text.slice(from, end);
  }
  // An empty catalogue on a line of its own is rendered without its line.
  if (before === '' || before.endsWith('\n')) {
    if (after.startsWith('\n') && text.includes(before + after.slice(1))) return '';
    if (after === '' && before !== '' && text.endsWith(before.slice(0, -1))) return '';
  }
  return null;
}

/** `<key>: <label>` lines into entries; the key ends at the first `: ` (a line `key:` has an empty label). */
function parseEntries(lines: readonly string[]): CatalogueEntry[] {
  const entries: CatalogueEntry[] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    const at = line.indexOf(': ');
    if (at > 0) entries.push({ key: line.slice(0, at), label: line.slice(at + 2) });
    else if (line.endsWith(':') && line.length > 1) entries.push({ key: line.slice(0, -1), label: '' });
  }
  return entries;
}
