import type { CatalogueEntry } from './job-type.ts';

/**
 * A message or input template (`Label the review:\n{{catalogue}}`), split once into parts so that rendering a
 * request is a concatenation. `{{ name }}` names an input field or the catalogue.
 */

export const CATALOGUE_PLACEHOLDER = 'catalogue';

type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'field'; name: string }
  /**
   * `line` says whether the placeholder stands on a line of its own; an empty catalogue then takes that line
   * with it rather than leaving a blank one.
   */
  | { kind: 'catalogue'; line: 'own' | 'shared' };

export interface Template {
  readonly parts: readonly TemplatePart[];
  /** Every placeholder's name, in order. */
  readonly names: readonly string[];
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

export function parseTemplate(text: string): Template {
  const parts: TemplatePart[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (match.index > last) parts.push({ kind: 'text', text: text.slice(last, match.index) });
    names.push(name);
    if (name === CATALOGUE_PLACEHOLDER) {
      const end = match.index + match[0].length;
      const startsLine = match.index === 0 || text[match.index - 1] === '\n';
      const endsLine = end === text.length || text[end] === '\n';
      parts.push({ kind: 'catalogue', line: startsLine && endsLine ? 'own' : 'shared' });
    } else {
      parts.push({ kind: 'field', name });
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return { parts, names };
}

/** `<key>: <label>` one entry a line, the label's whitespace collapsed, as today's viewpoint prompt has it. */
export function renderCatalogue(entries: readonly CatalogueEntry[]): string {
  return entries.map((entry) => `${entry.key}: ${entry.label.replace(/\s+/g, ' ').trim()}`).join('\n');
}

export function renderTemplate(
  template: Template,
  field: (name: string) => string,
  catalogueText: string,
): string {
  let out = '';
  for (const [index, part] of template.parts.entries()) {
    if (part.kind === 'text') {
      // The newline that ended a dropped catalogue line goes with it.
      const previous = template.parts[index - 1];
      const dropped = previous?.kind === 'catalogue' && previous.line === 'own' && catalogueText === '';
      out += dropped ? part.text.slice(1) : part.text;
    } else if (part.kind === 'field') {
      out += field(part.name);
    } else if (catalogueText === '' && part.line === 'own' && index === template.parts.length - 1) {
      out = out.replace(/\n$/, '');
    } else {
      out += catalogueText;
    }
  }
  return out;
}
